import { Hub, SessionSupervisor, SHUTDOWN_RECONNECT_DELAY_MS } from '@herald/core';
import { DisconnectCode, type DisconnectDef } from '@herald/protocol';
import type { Herald, TransportName } from '@herald/sdk';
import { nextEvent, TcpProxy, type TcpProxyOptions } from '@herald/sdk/testing';
import {
  collectPublications,
  SdkClients,
  startTestNode,
  uniqueId,
  type SdkClientOptions,
  type TestNode,
} from '@herald/testing';

// The SDK against disconnects the SERVER decides (test/sdk.e2e-spec.ts covers network drops):
// - a reconnect code (3007 force_reconnect, sent through the node's control path, the one the REST
//   "disconnect user" call takes) makes it reconnect and recover every channel, each publication
//   delivered exactly once; a terminal code (3502) makes it stop, on every transport;
// - a draining node (3001) sends reconnect advice; the SDK waits at least the advised delay before
//   its next attempt and then reaches another node through its usual URL (here a TcpProxy standing
//   in for the load balancer, which has dropped the draining node from its pool);
// - the fallback chain after failures, not only after missing APIs: WebSocket refused by a proxy,
//   then SSE broken (connection dropped, or buffered so it never connects), ends on long-poll.

let node: TestNode;
const sdk = new SdkClients();
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  node = await startTestNode();
});

afterEach(async () => {
  sdk.disconnectAll();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await node?.close();
});

/** An SDK client of the alpha app of `on` (default: the suite's node); libs/testing SdkClients. */
function client({ on = node, ...options }: SdkClientOptions & { on?: TestNode } = {}): Herald {
  return sdk.create(on, options);
}

async function proxy(target: string, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const p = await TcpProxy.start(target, options);
  proxies.push(p);
  return p;
}

/** The node closes every connection of `user` with `def`, as a control-bus disconnect does. */
function serverDisconnect(on: TestNode, user: string, def: DisconnectDef): void {
  on.get(Hub).applyControl({ k: 'disconnect', a: on.apps.alpha.id, u: user, code: def.code });
}

async function publish(on: TestNode, channel: string, from: number, to: number): Promise<void> {
  for (let n = from; n <= to; n++) await on.rest(on.apps.alpha).publish(channel, { n });
}

const ALL: TransportName[] = ['websocket', 'sse', 'poll'];

/** What a node answers a new connection over `transport` with, read off the wire. */
async function refusal(on: TestNode, transport: TransportName): Promise<unknown> {
  const alpha = on.apps.alpha;
  const query = `key=${encodeURIComponent(alpha.key)}`;
  if (transport === 'websocket') {
    const ws = await on.open(alpha);
    const push = await ws.nextPush((p) => p.push === 'disconnect');
    expect((await ws.waitClosed()).code).toBe(DisconnectCode.SHUTDOWN.code);
    return push;
  }
  const token = alpha.token(uniqueId('late'));
  if (transport === 'sse') {
    const text = await (await fetch(`${on.url}/connection/sse?${query}&token=${token}`)).text();
    const data = /^data: (.*)$/m.exec(text)?.[1];
    return data === undefined ? text : (JSON.parse(data) as unknown);
  }
  const res = await fetch(`${on.url}/connection/poll?${query}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return ((await res.json()) as { events: unknown[] }).events[0];
}

describe.each(ALL)('server-sent disconnect codes over %s', (transport) => {
  it('3007 force_reconnect: reconnects and recovers every channel, each publication exactly once', async () => {
    const user = uniqueId('u');
    const p = await proxy(node.url);
    const c = client({ user, url: p.url, transports: [transport] });
    c.connect();
    const channels = [`chat:${uniqueId('a')}`, `chat:${uniqueId('b')}`, uniqueId('plain')];
    const subs = channels.map((ch) => c.subscribe(ch));
    const inboxes = subs.map((s) => collectPublications(s));
    await Promise.all(subs.map((s) => s.ready()));
    for (const ch of channels) await publish(node, ch, 1, 2);
    await Promise.all(inboxes.map((i) => i.count(2)));

    // The server closes with 3007. The proxy then holds new connections only to make the gap in
    // which publications 3–5 are made deterministic; the disconnect itself comes from the node.
    const disconnected = new Promise<{ code: number; reconnect: boolean }>((resolve) => {
      const off = c.on('disconnected', (e) => {
        off();
        p.hold();
        resolve(e);
      });
    });
    serverDisconnect(node, user, DisconnectCode.FORCE_RECONNECT);
    expect(await disconnected).toMatchObject({ code: DisconnectCode.FORCE_RECONNECT.code, reconnect: true });
    await node.serverCloses.wait((e) => e.user === user && e.code === DisconnectCode.FORCE_RECONNECT.code);
    for (const ch of channels) await publish(node, ch, 3, 5);
    const resubscribed = subs.map((s) => nextEvent(s, 'subscribed', () => true, 8000));
    p.release();
    for (const r of await Promise.all(resubscribed))
      expect(r).toMatchObject({ wasRecovering: true, recovered: true });
    expect(c.state).toBe('connected');

    for (const ch of channels) await publish(node, ch, 6, 6);
    await Promise.all(inboxes.map((i) => i.count(6)));
    for (const inbox of inboxes) expect(inbox.texts()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('3502 force_disconnect from the server: stops, does not reconnect', async () => {
    const user = uniqueId('u');
    const c = client({ user, transports: [transport] });
    const connecting: unknown[] = [];
    c.on('connecting', (e) => connecting.push(e));
    const connected = nextEvent(c, 'connected');
    c.connect();
    await connected;
    const disconnected = nextEvent(c, 'disconnected');
    serverDisconnect(node, user, DisconnectCode.FORCE_DISCONNECT);
    expect(await disconnected).toMatchObject({
      code: DisconnectCode.FORCE_DISCONNECT.code,
      reconnect: false,
    });
    // A reconnect would be scheduled synchronously with the close: none was, and no timer remains.
    expect(c.state).toBe('disconnected');
    expect(connecting).toHaveLength(1);
    await expect(c.ready()).rejects.toThrow('client is disconnected');
  });
});

describe.each(ALL)('a draining node (3001 with reconnect advice) over %s', (transport) => {
  let draining: TestNode;
  let other: TestNode;

  beforeEach(async () => {
    draining = await startTestNode();
    // One app config on both nodes, as in a cluster: the same key and secret work on either.
    const { keys, secrets } = draining.apps.alpha.config;
    other = await startTestNode({ apps: { alpha: { keys, secrets } } });
  });

  afterEach(async () => {
    sdk.disconnectAll();
    await Promise.all([draining.close(), other.close()]);
  });

  it('waits at least the advised delay, then reconnects through the load balancer to another node', async () => {
    const user = uniqueId('u');
    const lb = await proxy(draining.url);
    const c = client({ user, on: draining, url: lb.url, transports: [transport] });
    const connected = nextEvent(c, 'connected');
    c.connect();
    const first = await connected;
    const channel = `chat:${uniqueId('drain')}`;
    const sub = c.subscribe(channel);
    const inbox = collectPublications(sub);
    await sub.ready();
    await publish(draining, channel, 1, 1);
    await inbox.count(1);

    // The node goes unready and the balancer drops it; then the drain closes its sessions.
    lb.retarget(other.url);
    let disconnectedAt = 0;
    const disconnected = new Promise<{ code: number; advice?: { delay_ms: number } }>((resolve) => {
      const off = c.on('disconnected', (e) => {
        off();
        disconnectedAt = performance.now();
        // An HTTP load balancer routes each request; this TCP one would keep the client's idle
        // keep-alive connections on the old node, so they go (the sessions on them are closed).
        lb.cut();
        resolve(e);
      });
    });
    const nextAttempt = new Promise<number>((resolve) => {
      const off = c.on('connecting', () => {
        off();
        resolve(performance.now());
      });
    });
    const reconnected = nextEvent(c, 'connected', () => true, 10_000);
    const resubscribed = nextEvent(sub, 'subscribed', () => true, 10_000);
    const drained = draining.get(SessionSupervisor).drain(0);
    expect(await disconnected).toMatchObject({
      code: DisconnectCode.SHUTDOWN.code,
      reconnect: true,
      advice: { delay_ms: SHUTDOWN_RECONNECT_DELAY_MS },
    });
    const waited = (await nextAttempt) - disconnectedAt;
    expect(waited).toBeGreaterThanOrEqual(SHUTDOWN_RECONNECT_DELAY_MS - 1); // timer granularity
    // The advice is a floor, not a new cap: jitter (backoff window 20 ms at attempt 0) on top.
    expect(waited).toBeLessThan(SHUTDOWN_RECONNECT_DELAY_MS + 2000);
    await drained;

    const second = await reconnected;
    expect(second.client).not.toBe(first.client);
    // In-memory history is per node: the other node's stream has another epoch, and the SDK says so.
    expect(await resubscribed).toMatchObject({ wasRecovering: true, recovered: false });
    await publish(other, channel, 2, 2);
    await inbox.count(2);
    expect(inbox.texts()).toEqual([1, 2]);

    // A client the balancer still sends to the draining node is turned away with the same advice.
    expect(await refusal(draining, transport)).toMatchObject({
      push: 'disconnect',
      code: DisconnectCode.SHUTDOWN.code,
      advice: { delay_ms: SHUTDOWN_RECONNECT_DELAY_MS },
    });
  }, 20_000);
});

describe('fallback after failures', () => {
  it.each(['drop', 'stall'] as const)(
    'ends on long-poll when the upgrade is refused and SSE streams are broken (%s)',
    async (mode) => {
      const p = await proxy(node.url, { refuseUpgrades: true, breakPaths: { '/connection/sse': mode } });
      // A buffered stream never errors: only the SDK's connect timeout gets it off SSE.
      const c = client({ url: p.url, timeoutMs: 1500 });
      const transports: TransportName[] = [];
      c.on('connecting', (e) => transports.push(e.transport));
      const connected = nextEvent(c, 'connected', () => true, 8000);
      c.connect();
      expect(await connected).toMatchObject({ transport: 'poll' });
      expect(transports).toEqual(['websocket', 'sse', 'poll']);
      expect(p.refusedUpgrades).toBe(1);
      expect(p.broken.get('/connection/sse')).toBe(1);

      const channel = `chat:${uniqueId('room')}`;
      const sub = c.subscribe(channel);
      const inbox = collectPublications(sub);
      await sub.ready();
      await sub.publish({ n: 1 });
      await publish(node, channel, 2, 3);
      await inbox.count(3);
      expect(inbox.texts()).toEqual([1, 2, 3]);
      expect(c.transportName).toBe('poll');
    },
  );
});
