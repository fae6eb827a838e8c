import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { OutFrame, transportStats, WriteScheduler } from '@herald/core';
import { DisconnectCode } from '@herald/protocol';
import { ALL_PUSHER_CODES, PusherCode, pusherCodeFor } from './pusher-codes.js';
import { PusherTransport } from './pusher.transport.js';

/**
 * Records what the transport writes: the decoded text of each WebSocket frame, the corked batches
 * and the close. The scheduler flushes at once, or, with `deferred`, when the test calls `tick`.
 */
function fakes(options: { maxQueueBytes?: number; deferred?: boolean } = {}) {
  const written: string[] = [];
  const closes: { code: number; reason: string }[] = [];
  let corks = 0;
  const socket = {
    destroyed: false,
    writableLength: 0,
    cork: () => corks++,
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
  const dirty: { flush(): void }[] = [];
  const scheduler = {
    schedule: (t: { flush(): void }) => (options.deferred ? dirty.push(t) : t.flush()),
  } as unknown as WriteScheduler;
  const tick = () => {
    for (const t of dirty.splice(0)) t.flush();
  };
  const transport = new PusherTransport(ws, socket, scheduler, options.maxQueueBytes ?? 1 << 20);
  return { written, closes, transport, tick, corks: () => corks };
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

  it("writes a tick's frames in one corked write", () => {
    const { written, transport, tick, corks } = fakes({ deferred: true });
    transport.write(new OutFrame('{"event":"a"}'));
    transport.write(new OutFrame('{"event":"b"}'));
    expect(written).toEqual([]);
    tick();
    expect(written).toEqual(['{"event":"a"}', '{"event":"b"}']);
    expect(corks()).toBe(1);
  });

  it('closes a client that cannot keep up with over_capacity, dropping what is queued', () => {
    const frame = new OutFrame(JSON.stringify({ event: 'e', data: 'x'.repeat(100) }));
    const { written, closes, transport, tick } = fakes({ deferred: true, maxQueueBytes: 250 });
    const slowBefore = transportStats.slowDisconnects.counts.websocket;
    expect(transport.write(frame)).toBe(true);
    expect(transport.write(frame)).toBe(true);
    expect(transport.write(frame)).toBe(false);
    expect(transport.closeDef).toBe(DisconnectCode.SLOW);
    expect(transportStats.slowDisconnects.counts.websocket).toBe(slowBefore + 1);
    // No pusher:error event: it would queue behind what the client is not reading.
    expect(closes).toEqual([{ code: 4100, reason: 'Over capacity, reconnect later' }]);
    tick();
    expect(written).toEqual([]);
    expect(transport.write(frame)).toBe(false);
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
