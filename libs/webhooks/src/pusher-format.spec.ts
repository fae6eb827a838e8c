import type { WebhookEvent } from './events.js';
import { isPusherEvent, pusherBody, pusherClientEvent, toPusherEvent } from './pusher-format.js';

function ev(over: Partial<WebhookEvent>): WebhookEvent {
  return { id: 'evt_1', name: 'client_event', channel: 'private-x', time_ms: 1, ...over };
}

describe('Pusher-format webhook events', () => {
  it('maps a native publication like Pusher clients see it: never an empty event name', () => {
    // An {event, data} envelope: that event, data as a string.
    expect(pusherClientEvent({ data: { event: 'headline', data: { t: 'Hi' } } })).toEqual({
      event: 'headline',
      data: '{"t":"Hi"}',
    });
    expect(pusherClientEvent({ data: { event: 'raw', data: 'as sent' } })).toEqual({
      event: 'raw',
      data: 'as sent',
    });
    // Anything else: `message` with the data JSON-encoded.
    expect(pusherClientEvent({ data: { hello: 1 } })).toEqual({ event: 'message', data: '{"hello":1}' });
    expect(pusherClientEvent({ data: { event: '', data: 1 } })).toEqual({
      event: 'message',
      data: '{"event":"","data":1}',
    });
    expect(pusherClientEvent({ data: { event: 'e', data: 1, extra: true } }).event).toBe('message');
    expect(pusherClientEvent({ data: 'text' })).toEqual({ event: 'message', data: 'text' });
    expect(pusherClientEvent({ data: undefined })).toEqual({ event: 'message', data: 'null' });
    expect(pusherClientEvent({ event: '', data: [1] })).toEqual({ event: 'message', data: '[1]' });
    // A Pusher client event keeps its name and data.
    expect(pusherClientEvent({ event: 'client-a', data: { event: 'x', data: 1 } })).toEqual({
      event: 'client-a',
      data: '{"event":"x","data":1}',
    });
    expect(toPusherEvent(ev({ data: { n: 1 }, client_id: '1.2', user_id: 'u' }))).toEqual({
      name: 'client_event',
      channel: 'private-x',
      event: 'message',
      data: '{"n":1}',
      socket_id: '1.2',
    });
  });

  it('sends cache_miss and subscription_count in Pusher shape', () => {
    expect(isPusherEvent('cache_miss')).toBe(true);
    expect(isPusherEvent('subscription_count')).toBe(true);
    expect(isPusherEvent('connection_opened')).toBe(false);
    expect(toPusherEvent(ev({ name: 'cache_miss', channel: 'cache-x' }))).toEqual({
      name: 'cache_miss',
      channel: 'cache-x',
    });
    expect(JSON.parse(pusherBody(5, [ev({ name: 'subscription_count', channel: 'news', data: 3 })]))).toEqual(
      {
        time_ms: 5,
        events: [{ name: 'subscription_count', channel: 'news', subscription_count: 3 }],
      },
    );
  });
});
