/**
 * Webhooks through a real standalone node (`npm start` composition): the core reports
 * subscriptions, presence, client publishes and connections, events go over the bus to the
 * dispatcher, and a real receiver (libs/testing WebhookReceiver) gets signed batches. Endpoints
 * and the dead-letter routes go through the admin API. The node runs with a real vacate debounce
 * window (DEBOUNCE_MS), so a client that reconnects within it is checked end to end.
 */
import { randomBytes } from 'node:crypto';
import type { RunningNode } from '@herald/runtime';
import {
  adminRequest,
  signHs256,
  startStandalone,
  TestClient,
  WebhookReceiver,
  type ReceivedEvent,
} from '@herald/testing';

const ADMIN = `adm_${randomBytes(24).toString('base64url')}`;
/** Long enough that a reconnect (milliseconds on loopback) always lands inside it, even on a loaded CI. */
const DEBOUNCE_MS = 3000;
const CHANNEL_EVENTS = [
  'channel_occupied',
  'channel_vacated',
  'member_added',
  'member_removed',
  'client_event',
];

describe('webhooks through the standalone node', () => {
  let node: RunningNode;
  /** Signing secret per endpoint path (`/app/<app>`, `/conn/<app>`). */
  const secrets = new Map<string, string>();
  const receiver = new WebhookReceiver((path) => secrets.get(path));
  const admin = <T>(method: string, path: string, body?: unknown) =>
    adminRequest<T>(node.url, ADMIN, method, path, body);

  beforeAll(async () => {
    await receiver.start();
    node = await startStandalone({
      admin: { token: ADMIN },
      // The receiver is on loopback: allow-listed here, refused by default.
      webhooks: { allowNetworks: ['127.0.0.1'], occupancyDebounceMilliseconds: DEBOUNCE_MS },
    });
  }, 60_000);

  afterAll(async () => {
    await node?.close();
    await receiver.down();
  });

  /** Creates an app and an endpoint for `events` at `/<kind>/<app>` on the receiver. */
  async function app(
    id: string,
    events = CHANNEL_EVENTS,
    kind = 'app',
  ): Promise<{ key: string; secret: string }> {
    const created = await admin<{ key: { key: string }; secret: { secret: string } }>(
      'POST',
      '/v1/admin/apps',
      {
        id,
        namespaces: { chat: { presence: true, allowPublish: true } },
      },
    );
    expect(created.status).toBe(201);
    const path = `/${kind}/${id}`;
    const hook = await admin<{ signing_secret: string }>('POST', `/v1/admin/apps/${id}/webhooks`, {
      url: receiver.url(path),
      events,
    });
    expect(hook.status).toBe(201);
    secrets.set(path, hook.body.signing_secret);
    return { key: created.body.key.key, secret: created.body.secret.secret };
  }

  async function connect(id: string, a: { key: string; secret: string }, user: string): Promise<TestClient> {
    const ws = node.url.replace(/^http/, 'ws');
    const client = await TestClient.open(`${ws}/connection/websocket?key=${a.key}`);
    await client.request({ cmd: 'connect', token: signHs256(a.secret, { sub: user, aud: id }) });
    return client;
  }

  /** Events delivered to one endpoint path (de-duplicated by webhook-id). */
  const at = (path: string): ReceivedEvent[] =>
    receiver.unique.filter((r) => r.path === path).flatMap((r) => r.events);
  /** Names of one channel's events at one endpoint (the personal channel has events of its own). */
  const names = (path: string, channel: string) =>
    at(path)
      .filter((e) => e.channel === channel)
      .map((e) => e.name);

  it('occupied, member_added, client_event, member_removed, vacated: signed, in order, per app; A never sees B', async () => {
    const a = await app('wh-a');
    const b = await app('wh-b');
    // Both apps use the same channel name and publish: each endpoint must get only its own app's.
    const session = async (id: string, keys: { key: string; secret: string }, user: string) => {
      const client = await connect(id, keys, user);
      await client.request({ cmd: 'subscribe', channel: 'chat:room' });
      await client.request({ cmd: 'publish', channel: 'chat:room', data: { from: id } });
      await client.request({ cmd: 'unsubscribe', channel: 'chat:room' });
      return client;
    };
    const ca = await session('wh-a', a, 'u-a');
    const cb = await session('wh-b', b, 'u-b');
    const expected = [
      'channel_occupied',
      'member_added',
      'client_event',
      'member_removed',
      'channel_vacated',
    ];
    await receiver.until(() => names('/app/wh-a', 'chat:room').length >= 5, "wh-a's 5 chat:room events");
    await receiver.until(() => names('/app/wh-b', 'chat:room').length >= 5, "wh-b's 5 chat:room events");
    expect(names('/app/wh-a', 'chat:room')).toEqual(expected);
    expect(names('/app/wh-b', 'chat:room')).toEqual(expected);
    expect(receiver.all.every((r) => r.valid)).toBe(true);
    // Isolation: nothing of B's (user, data, event ids) reached A's endpoint, and the reverse.
    const aEvents = at('/app/wh-a');
    const bEvents = at('/app/wh-b');
    expect(aEvents.some((e) => e.user_id === 'u-b' || JSON.stringify(e.data) === '{"from":"wh-b"}')).toBe(
      false,
    );
    expect(bEvents.some((e) => e.user_id === 'u-a' || JSON.stringify(e.data) === '{"from":"wh-a"}')).toBe(
      false,
    );
    expect(aEvents.find((e) => e.name === 'client_event')?.data).toEqual({ from: 'wh-a' });
    expect(bEvents.find((e) => e.name === 'client_event')?.data).toEqual({ from: 'wh-b' });
    const bIds = new Set(bEvents.map((e) => e.id));
    expect(aEvents.some((e) => bIds.has(e.id))).toBe(false);
    await ca.close();
    await cb.close();

    const dead = await admin<{ dead_letters: unknown[] }>('GET', '/v1/admin/apps/wh-a/webhooks/dead-letters');
    expect(dead.status).toBe(200);
    expect(dead.body.dead_letters).toEqual([]);
    const replay = await admin<{ replayed: number }>(
      'POST',
      '/v1/admin/apps/wh-a/webhooks/dead-letters/replay',
      {},
    );
    expect(replay.body).toEqual({ replayed: 0 });
  }, 30_000);

  it('connection_opened / connection_closed reach an endpoint that opted in, for a real WebSocket client', async () => {
    const c = await app('wh-c', ['connection_opened', 'connection_closed'], 'conn');
    const client = await connect('wh-c', c, 'u-c');
    const clientId = client.connection?.client;
    expect(typeof clientId).toBe('string');
    const conn = () => at('/conn/wh-c');
    await receiver.until(
      () => conn().some((e) => e.name === 'connection_opened'),
      'connection_opened for u-c',
    );
    await client.close();
    await receiver.until(
      () => conn().some((e) => e.name === 'connection_closed'),
      'connection_closed for u-c',
    );
    expect(conn().map((e) => [e.name, e.user_id, e.client_id])).toEqual([
      ['connection_opened', 'u-c', clientId],
      ['connection_closed', 'u-c', clientId],
    ]);
    expect(receiver.all.filter((r) => r.path === '/conn/wh-c').every((r) => r.valid)).toBe(true);
    // Opt-in: endpoints that did not list them never get connection events.
    const others = receiver.unique.filter((r) => r.path !== '/conn/wh-c').flatMap((r) => r.events);
    expect(others.some((e) => e.name.startsWith('connection_'))).toBe(false);
  }, 30_000);

  it('a client that reconnects within the debounce window causes no vacated/occupied (or member) pair', async () => {
    const d = await app('wh-d');
    const path = '/app/wh-d';
    const first = await connect('wh-d', d, 'u-d');
    await first.request({ cmd: 'subscribe', channel: 'chat:room' });
    // A sentinel channel the client does not come back to: its channel_vacated, announced when
    // the debounce window of this same disconnect ends, shows that the window is over.
    await first.request({ cmd: 'subscribe', channel: 'chat:sentinel' });
    await receiver.until(
      () =>
        names(path, 'chat:room').includes('member_added') &&
        names(path, 'chat:sentinel').includes('member_added'),
      'occupied and member_added for both channels',
    );
    await first.close(); // the connection drops...
    const again = await connect('wh-d', d, 'u-d'); // ...and the same user comes back at once
    await again.request({ cmd: 'subscribe', channel: 'chat:room' });
    await receiver.until(
      () => names(path, 'chat:sentinel').includes('channel_vacated'),
      "chat:sentinel's channel_vacated after the debounce window",
    );
    // Anything announced for chat:room at the end of the window precedes this on its key.
    await again.request({ cmd: 'publish', channel: 'chat:room', data: { after: 'reconnect' } });
    await receiver.until(
      () => names(path, 'chat:room').includes('client_event'),
      'the client_event after the window',
    );
    expect(names(path, 'chat:room')).toEqual(['channel_occupied', 'member_added', 'client_event']);
    expect(names(path, 'chat:sentinel')).toEqual([
      'channel_occupied',
      'member_added',
      'member_removed',
      'channel_vacated',
    ]);
    await again.close();
  }, 30_000);
});
