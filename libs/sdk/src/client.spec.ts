import { jest } from '@jest/globals';
import type { Command, ServerFrame } from '@herald/protocol';
import { Herald } from './client.js';
import type { HeraldOptions } from './types.js';
import type { EventSourceLike, WebSocketLike } from './platform.js';

/**
 * A fake WebSocket driven by the test, so the client's own logic (timers, de-duplication) can be
 * checked without a network and under fake timers. Extend `FakeSocket` with whatever a new test
 * needs to push or observe; the e2e suite (test/sdk.e2e-spec.ts) covers the real server.
 */
class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: Command[] = [];
  onopen: ((ev: never) => unknown) | null = null;
  onmessage: ((ev: never) => unknown) | null = null;
  onclose: ((ev: never) => unknown) | null = null;
  onerror: ((ev: never) => unknown) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string): void {
    for (const line of data.split('\n')) this.sent.push(JSON.parse(line) as Command);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    (this.onopen as ((ev: object) => void) | null)?.({});
  }
  push(frame: ServerFrame): void {
    (this.onmessage as ((ev: { data: string }) => void) | null)?.({ data: JSON.stringify(frame) });
  }
  drop(code = 1006): void {
    (this.onclose as ((ev: { code: number; reason: string }) => void) | null)?.({ code, reason: '' });
  }
  idOf(cmd: Command['cmd']): number {
    const found = this.sent.find((c) => c.cmd === cmd);
    if (!found || !('id' in found)) throw new Error(`no ${cmd} sent`);
    return found.id;
  }
}

function newClient(options: Partial<HeraldOptions> = {}): Herald {
  return new Herald({
    url: 'http://herald.test',
    key: 'k',
    token: 't',
    transports: ['websocket'],
    WebSocket: FakeSocket,
    backoff: { baseMs: 100, maxMs: 1000 },
    ...options,
  });
}

const CONNECT_RESULT = {
  client: 'c1',
  user: 'u1',
  ping: 25,
  pong_timeout: 10,
  subs: {},
  node: 'n',
  version: '1',
};

/** Lets promise callbacks (command replies) run; advances no time. */
const settle = () => jest.advanceTimersByTimeAsync(0);

beforeEach(() => {
  FakeSocket.all = [];
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

describe('Herald client (fake socket)', () => {
  it('disconnect() stops reconnect and liveness timers', async () => {
    const c = newClient();
    c.connect();
    await Promise.resolve();
    const ws = FakeSocket.all[0];
    ws.open();
    ws.push({ id: ws.idOf('connect'), result: CONNECT_RESULT });
    await settle();
    expect(c.state).toBe('connected');
    expect(jest.getTimerCount()).toBeGreaterThan(0); // liveness
    ws.drop();
    expect(c.state).toBe('connecting');
    expect(jest.getTimerCount()).toBe(1); // the reconnect
    c.disconnect();
    expect(jest.getTimerCount()).toBe(0);
    await jest.runAllTimersAsync();
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('drops publications whose offset was already delivered', async () => {
    const c = newClient();
    c.connect();
    await Promise.resolve();
    const ws = FakeSocket.all[0];
    ws.open();
    ws.push({ id: ws.idOf('connect'), result: CONNECT_RESULT });
    await settle();
    const sub = c.subscribe('chat:a');
    const got: number[] = [];
    sub.on('publication', (p) => got.push(p.offset!));
    await Promise.resolve();
    // A pub that races ahead of the subscribe reply is held, then de-duplicated against it.
    ws.push({ push: 'pub', channel: 'chat:a', pub: { offset: 6, data: 6 } });
    ws.push({ id: ws.idOf('subscribe'), result: { recoverable: true, offset: 5, epoch: 'e' } });
    await settle();
    for (const offset of [5, 6, 7, 7, 6, 8])
      ws.push({ push: 'pub', channel: 'chat:a', pub: { offset, data: offset } });
    expect(got).toEqual([6, 7, 8]);
    expect(sub.streamPosition).toEqual({ offset: 8, epoch: 'e' });
    c.disconnect();
  });

  it('honours reconnect advice: no attempt before delay_ms, one within delay_ms plus the jitter window', async () => {
    const c = newClient();
    const disconnects: { code: number; advice?: { delay_ms: number } }[] = [];
    c.on('disconnected', (e) => disconnects.push(e));
    c.connect();
    await Promise.resolve();
    const ws = FakeSocket.all[0];
    ws.open();
    ws.push({ id: ws.idOf('connect'), result: CONNECT_RESULT });
    await settle();
    // A draining node: the push with advice, then (on WebSocket) the close frame.
    ws.push({
      push: 'disconnect',
      code: 3001,
      reason: 'shutdown',
      reconnect: true,
      advice: { delay_ms: 5000 },
    });
    ws.drop(3001);
    expect(disconnects).toEqual([
      { code: 3001, reason: 'shutdown', reconnect: true, advice: { delay_ms: 5000 } },
    ]);
    expect(c.state).toBe('connecting');
    await jest.advanceTimersByTimeAsync(4999);
    expect(FakeSocket.all).toHaveLength(1); // the floor holds even though the backoff window is 100 ms
    await jest.advanceTimersByTimeAsync(101); // advice + the first jitter window (baseMs 100)
    expect(FakeSocket.all).toHaveLength(2);
    c.disconnect();
  });

  it('caps advice at backoff.maxAdviceMs', async () => {
    const c = newClient({ backoff: { baseMs: 100, maxMs: 1000, maxAdviceMs: 2000 } });
    c.connect();
    await Promise.resolve();
    const ws = FakeSocket.all[0];
    ws.open();
    ws.push({ id: ws.idOf('connect'), result: CONNECT_RESULT });
    await settle();
    ws.push({
      push: 'disconnect',
      code: 3007,
      reason: 'x',
      reconnect: true,
      advice: { delay_ms: 86_400_000 },
    });
    await jest.advanceTimersByTimeAsync(1999);
    expect(FakeSocket.all).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(101);
    expect(FakeSocket.all).toHaveLength(2);
    c.disconnect();
  });

  it('a transport that never connects is given up after timeoutMs and the next one is tried', async () => {
    const streams: string[] = [];
    // A proxy that buffers the event stream: the request is made, nothing ever arrives.
    class HangingEventSource implements EventSourceLike {
      readonly readyState = 0;
      onmessage: ((ev: never) => unknown) | null = null;
      onerror: ((ev: never) => unknown) | null = null;
      onopen: ((ev: never) => unknown) | null = null;
      constructor(url: string) {
        streams.push(url);
      }
      close(): void {}
    }
    const c = newClient({
      transports: ['websocket', 'sse'],
      EventSource: HangingEventSource,
      fetch: () => new Promise<never>(() => undefined),
      timeoutMs: 3000,
    });
    const connecting: string[] = [];
    c.on('connecting', (e) => connecting.push(e.transport));
    c.connect();
    await Promise.resolve();
    FakeSocket.all[0].open(); // the upgrade works, but no connect reply ever comes back
    await jest.advanceTimersByTimeAsync(2999);
    expect(connecting).toEqual(['websocket']);
    await jest.advanceTimersByTimeAsync(1);
    expect(connecting).toEqual(['websocket', 'sse']);
    expect(streams).toHaveLength(1);
    c.disconnect();
    expect(jest.getTimerCount()).toBe(0);
  });
});
