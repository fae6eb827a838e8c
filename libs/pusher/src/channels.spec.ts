import type { NamespaceOptions } from '@herald/config';
import { parseChannel } from '@herald/protocol';
import {
  parsePusherChannel,
  pusherChannelOptions,
  pusherNameOf,
  toHeraldData,
  toPusherEvent,
} from './channels.js';

const base: NamespaceOptions = {
  historySize: 0,
  historyTtlSeconds: 0,
  presence: false,
  joinLeave: false,
  allowPublish: false,
  allowPresence: false,
  allowHistory: false,
  private: false,
  recover: false,
};

function options(name: string): NamespaceOptions {
  const parsed = parseChannel(name);
  if (!parsed) throw new Error(`bad ${name}`);
  return pusherChannelOptions(parsed, base, 1800);
}

describe('Pusher channel names', () => {
  it('parses types and cache flags', () => {
    expect(parsePusherChannel('news')).toMatchObject({ type: 'public', cache: false, herald: 'news' });
    expect(parsePusherChannel('private-a')).toMatchObject({ type: 'private', cache: false });
    expect(parsePusherChannel('private-encrypted-a')).toMatchObject({ type: 'encrypted' });
    expect(parsePusherChannel('presence-cache-a')).toMatchObject({ type: 'presence', cache: true });
    expect(parsePusherChannel('private-encrypted-cache-a')).toMatchObject({ type: 'encrypted', cache: true });
    expect(parsePusherChannel('cache-a')).toMatchObject({ type: 'public', cache: true });
    expect(parsePusherChannel('#server-to-user-u1')).toEqual({
      pusher: '#server-to-user-u1',
      herald: '#u1',
      type: 'user',
      cache: false,
      user: 'u1',
    });
  });

  it('refuses names Pusher refuses', () => {
    for (const bad of [
      '',
      'a b',
      'chat:lobby',
      'a#b',
      'x'.repeat(165),
      '#server-to-user-',
      '#server-to-user-a b',
      7,
    ])
      expect(parsePusherChannel(bad)).toBeUndefined();
    expect(parsePusherChannel('x'.repeat(164))).toBeDefined();
    expect(parsePusherChannel('A-z_0=9@,.;')).toBeDefined();
  });

  it('maps Herald channels back to Pusher names where they exist', () => {
    expect(pusherNameOf('news')).toBe('news');
    expect(pusherNameOf('#u1')).toBe('#server-to-user-u1');
    expect(pusherNameOf('chat:lobby')).toBeUndefined();
    expect(pusherNameOf('dialog#a,b')).toBeUndefined();
  });

  it('gives Pusher prefixes their meaning in the default namespace only', () => {
    expect(options('news')).toBe(base);
    expect(options('private-a')).toMatchObject({ private: true, presence: false });
    expect(options('private-encrypted-a')).toMatchObject({ private: true });
    expect(options('presence-a')).toMatchObject({ private: true, presence: true, joinLeave: true });
    expect(options('cache-a')).toMatchObject({ private: false, historySize: 1, historyTtlSeconds: 1800 });
    expect(options('chat:private-a')).toBe(base);
    const withHistory = pusherChannelOptions(
      parseChannel('cache-a')!,
      { ...base, historySize: 5, historyTtlSeconds: 60 },
      1800,
    );
    expect(withHistory).toMatchObject({ historySize: 5, historyTtlSeconds: 60 });
  });
});

describe('Pusher event data', () => {
  it('round-trips a Pusher event through a Herald envelope', () => {
    const herald = toHeraldData('greet', '{"a":1}');
    expect(herald).toEqual({ event: 'greet', data: '{"a":1}' });
    expect(toPusherEvent(herald)).toEqual({ event: 'greet', data: '{"a":1}' });
  });

  it('sends other Herald data as the event "message", JSON-encoded', () => {
    expect(toPusherEvent({ a: 1 })).toEqual({ event: 'message', data: '{"a":1}' });
    expect(toPusherEvent('text')).toEqual({ event: 'message', data: 'text' });
    expect(toPusherEvent({ event: 'x', data: 1, extra: true })).toEqual({
      event: 'message',
      data: '{"event":"x","data":1,"extra":true}',
    });
    expect(toPusherEvent({ event: 'named', data: { b: 2 } })).toEqual({ event: 'named', data: '{"b":2}' });
  });
});
