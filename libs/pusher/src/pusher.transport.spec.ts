import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { OutFrame, WriteScheduler } from '@herald/core';
import { DisconnectCode } from '@herald/protocol';
import { ALL_PUSHER_CODES, PusherCode, pusherCodeFor } from './pusher-codes.js';
import { PusherTransport } from './pusher.transport.js';

/** Records what the transport writes: the decoded text of each WebSocket frame, and the close. */
function fakes() {
  const written: string[] = [];
  const closes: { code: number; reason: string }[] = [];
  const socket = {
    destroyed: false,
    writableLength: 0,
    cork: () => undefined,
    uncork: () => undefined,
    write: (buf: Buffer) => {
      const len = buf[1] & 0x7f;
      const header = len < 126 ? 2 : len === 126 ? 4 : 10;
      written.push(buf.subarray(header).toString('utf8'));
      return true;
    },
  } as unknown as Socket;
  const ws = {
    close: (code: number, reason: string) => closes.push({ code, reason }),
    terminate: () => undefined,
  } as unknown as WebSocket;
  const scheduler = { schedule: (t: { flush(): void }) => t.flush() } as unknown as WriteScheduler;
  return { written, closes, transport: new PusherTransport(ws, socket, scheduler, 1 << 20) };
}

const join = (user: string, client: string) =>
  new OutFrame(JSON.stringify({ push: 'join', channel: 'presence-r', info: { user, client } }));
const leave = (user: string, client: string) =>
  new OutFrame(JSON.stringify({ push: 'leave', channel: 'presence-r', info: { user, client } }));

describe('PusherTransport', () => {
  it('announces a user once per channel: first connection in, last connection out', () => {
    const { written, transport } = fakes();
    transport.send(join('u1', 'c1')); // before subscription_succeeded: dropped
    transport.setMembers('presence-r', [{ user: 'me', client: 'c0' }]);
    transport.send(join('me', 'c0')); // own join: already listed
    transport.send(join('u1', 'c1'));
    transport.send(join('u1', 'c2'));
    transport.send(leave('u1', 'c1'));
    transport.send(leave('u1', 'c2'));
    transport.send(leave('u1', 'c2'));
    expect(written.map((w) => (JSON.parse(w) as { event: string }).event)).toEqual([
      'pusher_internal:member_added',
      'pusher_internal:member_removed',
    ]);
  });

  it('closes with the Pusher code after a pusher:error event', () => {
    const { written, closes, transport } = fakes();
    transport.close(DisconnectCode.FORCE_DISCONNECT);
    expect(JSON.parse(written[0])).toEqual({
      event: 'pusher:error',
      data: '{"code":4009,"message":"Connection is unauthorized"}',
    });
    expect(closes).toEqual([{ code: 4009, reason: 'Connection is unauthorized' }]);
    expect(transport.closeDef).toBe(DisconnectCode.FORCE_DISCONNECT);
    expect(transport.send(join('u', 'c'))).toBe(false);
  });
});

describe('Pusher codes', () => {
  it("keeps Pusher's ranges and maps every native disconnect", () => {
    for (const c of ALL_PUSHER_CODES) {
      expect(c.code).toBeGreaterThanOrEqual(4000);
      expect(c.code).toBeLessThan(4400);
      expect(c.closes).toBe(c.code < 4300);
    }
    expect(new Set(ALL_PUSHER_CODES.map((c) => c.code)).size).toBe(ALL_PUSHER_CODES.length);
    expect(pusherCodeFor(DisconnectCode.NO_PONG)).toBe(PusherCode.PONG_NOT_RECEIVED);
    expect(pusherCodeFor(DisconnectCode.SHUTDOWN).code).toBe(4200);
    expect(pusherCodeFor(DisconnectCode.CONNECTION_LIMIT).code).toBe(4004);
    for (const def of Object.values(DisconnectCode)) {
      const code = pusherCodeFor(def).code;
      // Reconnecting native codes never map to a terminal Pusher code, and vice versa.
      if (def.reconnect) expect(code === 4004 || code >= 4100).toBe(true);
      else expect(code).toBeLessThan(4100);
    }
  });
});
