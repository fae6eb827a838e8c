/**
 * The whole Pusher chain over real sockets and real HTTP: official `pusher-js` clients on a started
 * standalone node → Herald → a Pusher-format webhook endpoint (created through the admin API, its
 * loopback receiver allow-listed) → a receiver that checks every POST with the official `pusher`
 * server library (`webhook({headers, rawBody}).isValid()` and `getEvents()`), as a Pusher backend
 * does. Nothing is injected: every event comes from what the clients do.
 */
import { randomBytes } from 'node:crypto';
import PusherJs, { type Channel } from 'pusher-js';
import PusherServer from 'pusher';
import type { RunningNode } from '@herald/runtime';
import {
  adminRequest,
  onceBound,
  signHs256,
  startStandalone,
  TestClient,
  WebhookReceiver,
  type BindTarget,
} from '@herald/testing';

// pusher-js is CommonJS whose module.exports is the class; its typings describe an ES default export.
const Pusher = PusherJs as unknown as typeof PusherJs.default;
type Pusher = InstanceType<typeof Pusher>;

const ADMIN = `adm_${randomBytes(24).toString('base64url')}`;
const WAIT_MS = 15_000;
/** pusher.webhookCoalesceMilliseconds of the node: long enough for two subscribes to share a window. */
const COALESCE_MS = 1500;

type PusherWebhookEvent = Record<string, unknown> & { name: string; channel: string };

const once = <T = unknown>(target: BindTarget<T>, event: string): Promise<T> =>
  onceBound<T>(target, event, WAIT_MS);
const subscribed = (ch: Channel) => once(ch, 'pusher:subscription_succeeded');

describe('Pusher chain: pusher-js → Herald → Pusher-format HTTP webhooks', () => {
  let node: RunningNode;
  /** Records every POST (path, headers, raw body) and answers 200. */
  const receiver = new WebhookReceiver();
  const got = receiver.all;
  const clients: Pusher[] = [];
  const natives: TestClient[] = [];

  const until = (pred: () => boolean, what: string): Promise<void> => receiver.until(pred, what, WAIT_MS);

  beforeAll(async () => {
    await receiver.start();
    node = await startStandalone({
      admin: { token: ADMIN },
      webhooks: { allowNetworks: ['127.0.0.1'], occupancyDebounceMilliseconds: 0 },
      pusher: { webhookCoalesceMilliseconds: COALESCE_MS },
    });
  }, 60_000);

  afterEach(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    for (const c of natives.splice(0)) await c.close();
  });

  afterAll(async () => {
    await node?.close();
    await receiver.down();
  });

  const admin = <T>(method: string, path: string, body?: unknown) =>
    adminRequest<T>(node.url, ADMIN, method, path, body);

  /** An app with a Pusher-format endpoint for every Pusher event; the server library for it. */
  async function setup(app: string) {
    const created = await admin<{ key: { key: string }; secret: { secret: string } }>(
      'POST',
      '/v1/admin/apps',
      { id: app, namespaces: { native: { allowPublish: true } } },
    );
    expect(created.status).toBe(201);
    const key = created.body.key.key;
    const secret = created.body.secret.secret;
    const hook = await admin('POST', `/v1/admin/apps/${app}/webhooks`, {
      url: receiver.url(`/hooks/${app}`),
      format: 'pusher',
      events: [
        'channel_occupied',
        'channel_vacated',
        'member_added',
        'member_removed',
        'client_event',
        'cache_miss',
        'subscription_count',
      ],
    });
    expect(hook.status).toBe(201);
    const server = new PusherServer({
      appId: app,
      key,
      secret,
      host: '127.0.0.1',
      port: String(new URL(node.url).port),
      useTLS: false,
    });
    const client = async (presence?: { user_id: string }): Promise<Pusher> => {
      const p = new Pusher(key, {
        cluster: 'local',
        wsHost: '127.0.0.1',
        wsPort: Number(new URL(node.url).port),
        forceTLS: false,
        enabledTransports: ['ws'],
        disableStats: true,
        channelAuthorization: {
          customHandler: ({ socketId, channelName }, cb) => {
            cb(
              null,
              channelName.startsWith('presence-')
                ? server.authorizeChannel(socketId, channelName, presence ?? { user_id: 'anon' })
                : server.authorizeChannel(socketId, channelName),
            );
          },
        },
      });
      clients.push(p);
      await once(p.connection, 'connected');
      return p;
    };
    /** Every delivery to this app's endpoint, checked by the pusher library, its events in order. */
    const events = (): PusherWebhookEvent[] =>
      got
        .filter((d) => d.path === `/hooks/${app}`)
        .flatMap((d) => {
          const webhook = server.webhook({ headers: d.headers, rawBody: d.rawBody });
          expect(webhook.isValid()).toBe(true);
          expect(d.headers['x-pusher-key']).toBe(key);
          return webhook.getEvents() as unknown as PusherWebhookEvent[];
        });
    const of = (channel: string) => events().filter((e) => e.channel === channel);
    return { key, secret, server, client, events, of };
  }

  it('presence: occupied, member_added, client_event, member_removed, vacated as Pusher sends them', async () => {
    const s = await setup('pwh-presence');
    const alice = await s.client({ user_id: 'alice' });
    const bob = await s.client({ user_id: 'bob' });
    const chA = alice.subscribe('presence-room');
    await subscribed(chA);
    const chB = bob.subscribe('presence-room');
    await subscribed(chB);
    const received = once(chB, 'client-typing');
    chA.trigger('client-typing', { typing: true });
    expect(await received).toEqual({ typing: true });
    const aliceSocket = alice.connection.socket_id;
    alice.disconnect();
    await until(() => s.of('presence-room').some((e) => e.name === 'member_removed'), 'alice removed');
    bob.unsubscribe('presence-room');
    await until(() => s.of('presence-room').some((e) => e.name === 'channel_vacated'), 'vacated');
    expect(s.of('presence-room')).toEqual([
      { name: 'channel_occupied', channel: 'presence-room' },
      { name: 'member_added', channel: 'presence-room', user_id: 'alice' },
      { name: 'member_added', channel: 'presence-room', user_id: 'bob' },
      {
        name: 'client_event',
        channel: 'presence-room',
        event: 'client-typing',
        data: '{"typing":true}',
        socket_id: aliceSocket,
        user_id: 'alice',
      },
      { name: 'member_removed', channel: 'presence-room', user_id: 'alice' },
      { name: 'member_removed', channel: 'presence-room', user_id: 'bob' },
      { name: 'channel_vacated', channel: 'presence-room' },
    ]);
    // Presence channels get member events, not subscription_count (as in Pusher).
    expect(s.events().filter((e) => e.name === 'subscription_count')).toEqual([]);
  }, 60_000);

  it('private channel client events carry no user_id; native publications are mapped, never event ""', async () => {
    const s = await setup('pwh-client');
    const a = await s.client();
    const ch = a.subscribe('private-chat');
    await subscribed(ch);
    ch.trigger('client-note', 'plain text');
    const socket = a.connection.socket_id;

    const ws = node.url.replace(/^http/, 'ws');
    const native = await TestClient.open(`${ws}/connection/websocket?key=${s.key}`);
    natives.push(native);
    await native.request({ cmd: 'connect', token: signHs256(s.secret, { sub: 'nat', aud: 'pwh-client' }) });
    await native.request({ cmd: 'subscribe', channel: 'native:x' });
    await native.request({
      cmd: 'publish',
      channel: 'native:x',
      data: { event: 'headline', data: { t: 'Hi' } },
    });
    await native.request({ cmd: 'publish', channel: 'native:x', data: { hello: 1 } });
    await until(() => s.of('native:x').filter((e) => e.name === 'client_event').length === 2, 'native');
    await until(() => s.of('private-chat').some((e) => e.name === 'client_event'), 'client-note');
    expect(s.of('private-chat').find((e) => e.name === 'client_event')).toEqual({
      name: 'client_event',
      channel: 'private-chat',
      event: 'client-note',
      data: 'plain text',
      socket_id: socket,
    });
    const nativeEvents = s.of('native:x').filter((e) => e.name === 'client_event');
    expect(nativeEvents).toEqual([
      expect.objectContaining({ event: 'headline', data: '{"t":"Hi"}' }),
      expect.objectContaining({ event: 'message', data: '{"hello":1}' }),
    ]);
    for (const e of nativeEvents) expect(e.socket_id).toEqual(expect.stringMatching(/.+/));
  }, 60_000);

  it('subscription_count: coalesced per channel, sent when the count changed', async () => {
    const s = await setup('pwh-count');
    const a = await s.client();
    const b = await s.client();
    // Two subscribes in one window: one webhook with the count at its end.
    await Promise.all([subscribed(a.subscribe('news')), subscribed(b.subscribe('news'))]);
    await until(() => s.of('news').some((e) => e.name === 'subscription_count'), 'count 2');
    b.unsubscribe('news');
    await until(() => s.of('news').filter((e) => e.name === 'subscription_count').length === 2, 'count 1');
    // Subscribed and unsubscribed again inside one window: the count did not change, nothing sent.
    const again = b.subscribe('news');
    await subscribed(again);
    b.unsubscribe('news');
    a.disconnect();
    await until(() => s.of('news').some((e) => e.name === 'channel_vacated'), 'vacated');
    await until(() => s.of('news').filter((e) => e.name === 'subscription_count').length >= 3, 'count 0');
    expect(s.of('news').filter((e) => e.name === 'subscription_count')).toEqual([
      { name: 'subscription_count', channel: 'news', subscription_count: 2 },
      { name: 'subscription_count', channel: 'news', subscription_count: 1 },
      { name: 'subscription_count', channel: 'news', subscription_count: 0 },
    ]);
  }, 60_000);

  it('cache_miss: one webhook per channel and window, sent when a client got pusher:cache_miss', async () => {
    const s = await setup('pwh-cache');
    const a = await s.client();
    const b = await s.client();
    const missA = once(a.subscribe('cache-quotes'), 'pusher:cache_miss');
    await missA;
    const missB = once(b.subscribe('cache-quotes'), 'pusher:cache_miss');
    await missB;
    // subscription_count of the same channel follows on the same ordered stream after the window:
    // once it is in, a second cache_miss would have been too.
    await until(
      () => s.of('cache-quotes').some((e) => e.name === 'subscription_count' && e.subscription_count === 2),
      'count 2',
    );
    expect(s.of('cache-quotes').filter((e) => e.name === 'cache_miss')).toEqual([
      { name: 'cache_miss', channel: 'cache-quotes' },
    ]);
    // Once something is cached, a subscriber gets it and no cache_miss is sent.
    await s.server.trigger('cache-quotes', 'quote', { v: 1 });
    const c = await s.client();
    expect(await once(c.subscribe('cache-quotes'), 'quote')).toEqual({ v: 1 });
    await until(
      () => s.of('cache-quotes').some((e) => e.name === 'subscription_count' && e.subscription_count === 3),
      'count 3',
    );
    expect(s.of('cache-quotes').filter((e) => e.name === 'cache_miss')).toHaveLength(1);
  }, 60_000);
});
