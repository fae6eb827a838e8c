import { OutFrame, pubFrameJson } from '@herald/core';
import { PUSHER_FORMAT, translate } from './pusher-format.js';

describe('Pusher frame translation', () => {
  it('translates a publication once per frame, for every connection', () => {
    const frame = new OutFrame(
      pubFrameJson('news', '{"offset":3,"data":{"event":"e","data":"{\\"a\\":1}"}}'),
    );
    const first = frame.as(PUSHER_FORMAT);
    expect(first).not.toBeNull();
    expect(frame.as(PUSHER_FORMAT)).toBe(first);
    expect(first?.kind).toBe('send');
    expect(JSON.parse(first!.frame.json)).toEqual({ event: 'e', channel: 'news', data: '{"a":1}' });
  });

  it('adds user_id to client events on presence channels', () => {
    const out = translate(
      pubFrameJson(
        'presence-r',
        '{"data":{"event":"client-x","data":{}},"info":{"user":"u1","client":"1.2"}}',
      ),
    );
    expect(JSON.parse(out!.frame.json)).toEqual({
      event: 'client-x',
      channel: 'presence-r',
      data: '{}',
      user_id: 'u1',
    });
  });

  it('turns joins and leaves into member events, personal channels into server-to-user', () => {
    const join = translate(
      '{"push":"join","channel":"presence-r","info":{"user":"u1","client":"1.2","info":{"n":1}}}',
    );
    expect(join).toMatchObject({ kind: 'member', added: true, user: 'u1', client: '1.2' });
    expect(JSON.parse(join!.frame.json)).toEqual({
      event: 'pusher_internal:member_added',
      channel: 'presence-r',
      data: '{"user_id":"u1","user_info":{"n":1}}',
    });
    const leave = translate('{"push":"leave","channel":"presence-r","info":{"user":"u1","client":"1.2"}}');
    expect(JSON.parse(leave!.frame.json).data).toBe('{"user_id":"u1"}');
    const user = translate(pubFrameJson('#u1', '{"data":{"n":1}}'));
    expect(JSON.parse(user!.frame.json)).toEqual({
      event: 'message',
      channel: '#server-to-user-u1',
      data: '{"n":1}',
    });
  });

  it('drops what Pusher clients cannot use', () => {
    expect(translate('{"id":1,"result":{}}')).toBeNull();
    expect(translate('{"push":"unsub","channel":"news","code":103,"reason":"x"}')).toBeNull();
    expect(translate(pubFrameJson('chat:lobby', '{"data":1}'))).toBeNull();
    expect(translate('not json')).toBeNull();
    // Native pings: Pusher connections are pinged on activity (PusherLiveness), not by the native cycle.
    expect(translate('{"push":"ping"}')).toBeNull();
  });
});
