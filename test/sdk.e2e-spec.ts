import { DisconnectCode } from '@herald/protocol';
import type { Herald, TransportName } from '@herald/sdk';
import { nextEvent, TcpProxy } from '@herald/sdk/testing';
import {
  collectPublications,
  nowSec,
  SdkClients,
  startTestNode,
  uniqueId,
  type SdkClientOptions,
  type TestApp,
  type TestNode,
} from '@herald/testing';

// The client SDK (libs/sdk) against a real node in this process, in Node 20 with `ws` and
// `eventsource` injected as a browser would provide WebSocket and EventSource. Network conditions
// (drops, outages, a proxy that strips upgrades) come from TcpProxy; every wait is on an event.

let node: TestNode;
let app: TestApp;
const sdk = new SdkClients();
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  node = await startTestNode();
  app = node.apps.alpha;
});

afterEach(async () => {
  sdk.disconnectAll();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await node?.close();
});

/** An SDK client of the node's alpha app (libs/testing SdkClients: ws, eventsource, small backoff). */
function client(options: SdkClientOptions = {}): Herald {
  return sdk.create(node, options);
}

async function proxy(refuseUpgrades = false): Promise<TcpProxy> {
  const p = await TcpProxy.start(node.url, { refuseUpgrades });
  proxies.push(p);
  return p;
}

async function publish(channel: string, from: number, to: number): Promise<void> {
  for (let n = from; n <= to; n++) await node.rest(app).publish(channel, { n });
}

const ALL: TransportName[] = ['websocket', 'sse', 'poll'];

describe.each(ALL)('over %s', (transport) => {
  it('connects, subscribes, receives, publishes and reads presence and history', async () => {
    const user = uniqueId('u');
    const c = client({ user, transports: [transport] });
    const connected = nextEvent(c, 'connected');
    c.connect();
    expect(await connected).toMatchObject({ user, transport });
    expect(c.transportName).toBe(transport);

    const channel = `chat:${uniqueId('room')}`;
    const sub = c.subscribe(channel);
    const inbox = collectPublications(sub);
    const subscribed = await nextEvent(sub, 'subscribed');
    expect(subscribed).toMatchObject({ recoverable: true, wasRecovering: false });

    await publish(channel, 1, 3);
    await sub.publish({ n: 4 });
    await inbox.count(4);
    expect(inbox.texts()).toEqual([1, 2, 3, 4]);
    expect(inbox.got[3].info).toMatchObject({ user });

    const presence = await sub.presence();
    expect(presence.members.map((m) => m.user)).toEqual([user]);
    expect(await sub.presenceStats()).toEqual({ num_clients: 1, num_users: 1 });
    const history = await sub.history({ limit: 10 });
    expect(history.publications.map((p) => (p.data as { n: number }).n)).toEqual([1, 2, 3, 4]);
  });

  it('reconnects after the connection drops and delivers each publication exactly once', async () => {
    const p = await proxy();
    const c = client({ url: p.url, transports: [transport] });
    c.connect();
    const channel = `chat:${uniqueId('room')}`;
    const sub = c.subscribe(channel);
    const inbox = collectPublications(sub);
    await nextEvent(sub, 'subscribed');
    await publish(channel, 1, 3);
    await inbox.count(3);

    // Outage: connections are cut and refused while publications 4–6 are made.
    const dropped = nextEvent(c, 'disconnected');
    p.hold();
    expect(await dropped).toMatchObject({ reconnect: true });
    await publish(channel, 4, 6);
    const resubscribed = nextEvent(sub, 'subscribed');
    p.release();
    expect(await resubscribed).toMatchObject({ wasRecovering: true, recovered: true });

    await publish(channel, 7, 8);
    await inbox.count(8);
    // A second, plain drop (no outage) must not replay anything either.
    const again = nextEvent(sub, 'subscribed');
    p.cut();
    await again;
    await publish(channel, 9, 9);
    await inbox.count(9);
    expect(inbox.texts()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('recovery limits', () => {
  it('surfaces recovered: false when the gap is beyond history', async () => {
    const p = await proxy();
    const c = client({ url: p.url, transports: ['websocket'] });
    c.connect();
    // Default namespace of the test apps: history of 10.
    const channel = uniqueId('room');
    const sub = c.subscribe(channel);
    const inbox = collectPublications(sub);
    await nextEvent(sub, 'subscribed');
    await publish(channel, 1, 1);
    await inbox.count(1);
    const dropped = nextEvent(c, 'disconnected');
    p.hold();
    await dropped;
    await publish(channel, 2, 15);
    const resubscribed = nextEvent(sub, 'subscribed');
    p.release();
    expect(await resubscribed).toMatchObject({ wasRecovering: true, recovered: false });
    await publish(channel, 16, 16);
    await inbox.count(2);
    expect(inbox.texts()).toEqual([1, 16]);
  });
});

describe('terminal codes', () => {
  it('stops on force_disconnect (3502) and does not reconnect', async () => {
    const user = uniqueId('u');
    const c = client({ user });
    const connecting: unknown[] = [];
    c.on('connecting', (e) => connecting.push(e));
    c.connect();
    await nextEvent(c, 'connected');
    const attempts = connecting.length;
    const disconnected = nextEvent(c, 'disconnected');
    await node.rest(app).ok('POST', `/users/${user}/disconnect`);
    expect(await disconnected).toEqual({
      code: DisconnectCode.FORCE_DISCONNECT.code,
      reason: DisconnectCode.FORCE_DISCONNECT.reason,
      reconnect: false,
    });
    // Reconnects are scheduled synchronously with the close: none was.
    expect(c.state).toBe('disconnected');
    expect(connecting.length).toBe(attempts);
  });

  it.each(ALL)('stops on an invalid token (3500) over %s', async (transport) => {
    const c = client({ token: `${app.token('x')}tampered`, transports: [transport] });
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    const disconnected = nextEvent(c, 'disconnected');
    c.connect();
    expect(await disconnected).toMatchObject({ code: DisconnectCode.INVALID_TOKEN.code, reconnect: false });
    expect(c.state).toBe('disconnected');
  });
});

describe('tokens', () => {
  it('refreshes the connection token through getToken before it expires', async () => {
    const user = uniqueId('u');
    let calls = 0;
    const c = client({
      user,
      // 4 s tokens: the refresh lands in the last 10–20 % of each lifetime.
      getToken: () => {
        calls++;
        return Promise.resolve(app.token(user, { exp: nowSec() + 4 }));
      },
    });
    const disconnects: unknown[] = [];
    c.on('disconnected', (e) => disconnects.push(e));
    const connected = nextEvent(c, 'connected');
    c.connect();
    const first = await connected;
    expect(first.expires).toBeGreaterThan(nowSec());
    const r1 = await nextEvent(c, 'refreshed', () => true, 8000);
    // The second refresh happens after the first token's expiry: the connection survived it.
    const r2 = await nextEvent(c, 'refreshed', () => true, 8000);
    expect(r2.expires!).toBeGreaterThan(first.expires!);
    expect(r1.expires!).toBeGreaterThanOrEqual(first.expires!);
    expect(calls).toBe(3);
    expect(disconnects).toEqual([]);
    expect(c.state).toBe('connected');
  }, 20_000);
});

describe('fallback', () => {
  it('uses SSE when a proxy refuses the WebSocket upgrade', async () => {
    const p = await proxy(true);
    const c = client({ url: p.url });
    const transports: TransportName[] = [];
    c.on('connecting', (e) => transports.push(e.transport));
    const connected = nextEvent(c, 'connected');
    c.connect();
    expect(await connected).toMatchObject({ transport: 'sse' });
    expect(transports).toEqual(['websocket', 'sse']);
    expect(p.refusedUpgrades).toBe(1);

    const channel = `chat:${uniqueId('room')}`;
    const sub = c.subscribe(channel);
    const inbox = collectPublications(sub);
    await nextEvent(sub, 'subscribed');
    await sub.publish({ n: 1 });
    await inbox.count(1);
    expect(inbox.texts()).toEqual([1]);
  });

  it('falls back to long-poll when neither WebSocket nor EventSource is available', async () => {
    const c = client({
      WebSocket: undefined,
      EventSource: undefined,
    });
    // Node 20 has no global WebSocket/EventSource: the client falls through to poll.
    const connected = nextEvent(c, 'connected');
    c.connect();
    expect(await connected).toMatchObject({ transport: 'poll' });
  });
});

describe('tickets and server-side subscriptions', () => {
  it('connects once with a ticket, reconnects with getToken, and delivers personal-channel messages', async () => {
    const user = uniqueId('u');
    const { ticket } = await node.rest(app).ok<{ ticket: string }>('POST', '/tickets', { body: { user } });
    const p = await proxy();
    let tokenCalls = 0;
    const c = client({
      user,
      url: p.url,
      ticket,
      transports: ['websocket'],
      getToken: () => {
        tokenCalls++;
        return Promise.resolve(app.token(user));
      },
    });
    const connected = nextEvent(c, 'connected');
    c.connect();
    expect(await connected).toMatchObject({ user });
    expect(tokenCalls).toBe(0);

    const personal = nextEvent(c, 'publication', (e) => e.channel === `#${user}`);
    await node.rest(app).publishToUser(user, { hello: 1 });
    expect((await personal).data).toEqual({ hello: 1 });

    // The ticket is single use: the reconnect asks the application for a token.
    const reconnected = nextEvent(c, 'connected');
    p.cut();
    expect(await reconnected).toMatchObject({ user });
    expect(tokenCalls).toBe(1);
  });
});
