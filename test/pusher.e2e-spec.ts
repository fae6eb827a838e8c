/**
 * The Pusher Channels protocol against a started node, driven by the official clients: `pusher-js`
 * (8.x, its Node build with its own WebSocket) and the `pusher` server library (5.x), unchanged,
 * pointed at the node's loopback port. Plus raw WebSocket and raw HTTP cases for what the official
 * libraries never send (bad paths, versions, signatures, timestamps, socket ids).
 */
import { createHash, randomBytes } from 'node:crypto';
import PusherJs, { type Channel, type PresenceChannel } from 'pusher-js';
import PusherServer from 'pusher';
import WebSocket from 'ws';
import { onceBound, startTestNode, type TestApp, type TestNode, withTimeout } from '@herald/testing';
import { hmacHex } from '@herald/pusher';

const WAIT_MS = 5000;

// pusher-js is CommonJS whose module.exports is the class; its typings describe an ES default export.
const Pusher = PusherJs as unknown as typeof PusherJs.default;
type Pusher = InstanceType<typeof Pusher>;

/** Collects every `event` on a target, for "was NOT delivered" checks after a sentinel. */
function collect<T = unknown>(
  target: { bind(e: string, cb: (data: T) => void): unknown },
  event: string,
): T[] {
  const out: T[] = [];
  target.bind(event, (data: T) => out.push(data));
  return out;
}

interface Harness {
  node: TestNode;
  app: TestApp;
  server: PusherServer;
  clients: Pusher[];
  client(opts?: {
    presence?: { user_id: string; user_info?: Record<string, unknown> };
    user?: string;
    badAuth?: boolean;
  }): Promise<Pusher>;
}

const masterKey = randomBytes(32).toString('base64');

/** The official server library pointed at `node`, as `app`'s backend. */
function pusherServer(node: TestNode, app: TestApp): PusherServer {
  return new PusherServer({
    appId: app.id,
    key: app.key,
    secret: app.secret,
    host: '127.0.0.1',
    port: String(node.port),
    useTLS: false,
    encryptionMasterKeyBase64: masterKey,
  });
}

async function harness(node: TestNode): Promise<Harness> {
  const app = node.apps.alpha;
  const server = pusherServer(node, app);
  const clients: Pusher[] = [];
  const h: Harness = {
    node,
    app,
    server,
    clients,
    async client(opts = {}) {
      const p = new Pusher(app.key, {
        cluster: 'local',
        wsHost: '127.0.0.1',
        wsPort: node.port,
        forceTLS: false,
        enabledTransports: ['ws'],
        disableStats: true,
        channelAuthorization: {
          customHandler: ({ socketId, channelName }, cb) => {
            try {
              const auth = channelName.startsWith('presence-')
                ? server.authorizeChannel(socketId, channelName, opts.presence ?? { user_id: 'anon' })
                : server.authorizeChannel(socketId, channelName);
              if (opts.badAuth) auth.auth = `${app.key}:${'0'.repeat(64)}`;
              cb(null, auth);
            } catch (err) {
              cb(err as Error, null);
            }
          },
        },
        userAuthentication: {
          customHandler: ({ socketId }, cb) => {
            cb(null, server.authenticateUser(socketId, { id: opts.user ?? 'anon', name: 'Ann' }));
          },
        },
      });
      clients.push(p);
      await onceBound(p.connection, 'connected');
      return p;
    },
  };
  return h;
}

function subscribed(channel: Channel): Promise<unknown> {
  return onceBound(channel, 'pusher:subscription_succeeded');
}

/** A raw Pusher socket: every frame parsed, awaited by predicate; the close event recorded. */
class RawPusher {
  readonly frames: { event: string; channel?: string; data?: unknown }[] = [];
  private waiters: {
    match: (f: RawPusher['frames'][number]) => boolean;
    resolve: (f: RawPusher['frames'][number]) => void;
  }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private taken = 0;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { event: string; channel?: string; data?: unknown };
      if (typeof msg.data === 'string') {
        try {
          msg.data = JSON.parse(msg.data);
        } catch {
          // plain string data
        }
      }
      this.frames.push(msg);
      for (const w of [...this.waiters]) {
        if (w.match(msg)) {
          this.waiters = this.waiters.filter((x) => x !== w);
          w.resolve(msg);
        }
      }
    });
    ws.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
  }

  static open(url: string): RawPusher {
    return new RawPusher(new WebSocket(url));
  }

  /** The next frame of `event` not taken yet (frames are taken in arrival order). */
  next(event: string): Promise<RawPusher['frames'][number]> {
    const i = this.frames.findIndex((f, j) => j >= this.taken && f.event === event);
    if (i !== -1) {
      this.taken = i + 1;
      return Promise.resolve(this.frames[i]);
    }
    return withTimeout(
      new Promise((resolve) =>
        this.waiters.push({
          match: (f) => f.event === event,
          resolve: (f) => {
            this.taken = this.frames.length;
            resolve(f);
          },
        }),
      ),
      WAIT_MS,
      `no ${event}`,
    );
  }

  send(event: string, data: unknown, channel?: string): void {
    this.ws.send(JSON.stringify(channel === undefined ? { event, data } : { event, channel, data }));
  }
}

describe('Pusher protocol: pusher-js and the pusher server library', () => {
  let node: TestNode;
  let h: Harness;
  let wsBase: string;

  beforeAll(async () => {
    node = await startTestNode({ node: { pusher: { activityTimeoutSeconds: 42 } } });
    h = await harness(node);
    wsBase = node.url.replace(/^http/, 'ws');
  });

  afterEach(() => {
    for (const c of h.clients.splice(0)) c.disconnect();
  });

  afterAll(async () => {
    await node.close();
  });

  it('connects with a Pusher socket id and the configured activity timeout', async () => {
    const raw = RawPusher.open(`${wsBase}/app/${h.app.key}?protocol=7&client=js&version=8.6.0`);
    const est = await raw.next('pusher:connection_established');
    const data = est.data as { socket_id: string; activity_timeout: number };
    expect(data.socket_id).toMatch(/^\d+\.\d+$/);
    expect(data.activity_timeout).toBe(42);
    raw.send('pusher:ping', {});
    await raw.next('pusher:pong');
    raw.ws.close();
  });

  it('delivers HTTP API events on a public channel', async () => {
    const p = await h.client();
    const ch = p.subscribe('public-news');
    await subscribed(ch);
    const got = onceBound<{ n: number }>(ch, 'headline');
    await h.server.trigger('public-news', 'headline', { n: 1 });
    expect(await got).toEqual({ n: 1 });
  });

  it('authorizes private channels and refuses a bad signature with 401', async () => {
    const good = await h.client();
    const ch = good.subscribe('private-room');
    await subscribed(ch);
    const got = onceBound(ch, 'secret');
    await h.server.trigger('private-room', 'secret', 'hello');
    expect(await got).toBe('hello');

    const bad = await h.client({ badAuth: true });
    const err = await onceBound<{ type: string; status: number }>(
      bad.subscribe('private-room'),
      'pusher:subscription_error',
    );
    expect(err.status).toBe(401);
  });

  it('tracks presence members with member_added and member_removed', async () => {
    const a = await h.client({ presence: { user_id: 'alice', user_info: { name: 'Alice' } } });
    const chA = a.subscribe('presence-lobby') as PresenceChannel;
    await subscribed(chA);
    expect(chA.members.count).toBe(1);
    expect(chA.members.me).toEqual({ id: 'alice', info: { name: 'Alice' } });

    const added = onceBound<{ id: string; info: unknown }>(chA, 'pusher:member_added');
    const b = await h.client({ presence: { user_id: 'bob', user_info: { name: 'Bob' } } });
    const chB = b.subscribe('presence-lobby') as PresenceChannel;
    await subscribed(chB);
    expect(chB.members.count).toBe(2);
    expect(await added).toEqual({ id: 'bob', info: { name: 'Bob' } });

    const users = (await (await h.server.get({ path: '/channels/presence-lobby/users' })).json()) as {
      users: { id: string }[];
    };
    expect(users.users.map((u) => u.id).sort()).toEqual(['alice', 'bob']);

    const removed = onceBound<{ id: string }>(chA, 'pusher:member_removed');
    b.disconnect();
    expect((await removed).id).toBe('bob');
  });

  it('sends client events to the other subscribers only, with user_id on presence channels', async () => {
    const a = await h.client({ presence: { user_id: 'alice' } });
    const b = await h.client({ presence: { user_id: 'bob' } });
    const chA = a.subscribe('presence-typing');
    const chB = b.subscribe('presence-typing');
    await Promise.all([subscribed(chA), subscribed(chB)]);
    const echoed = collect(chA, 'client-typing');
    let meta: unknown;
    const got = new Promise((resolve) =>
      chB.bind('client-typing', (data: unknown, m: unknown) => {
        meta = m;
        resolve(data);
      }),
    );
    chA.trigger('client-typing', { typing: true });
    expect(await withTimeout(got, WAIT_MS, 'client event')).toEqual({ typing: true });
    expect(meta).toEqual({ user_id: 'alice' });
    // A sentinel published after the client event reaches A after it would have: nothing echoed.
    const sentinel = onceBound(chA, 'sentinel');
    await h.server.trigger('presence-typing', 'sentinel', {});
    await sentinel;
    expect(echoed).toEqual([]);
  });

  it('rate limits client events with code 4301', async () => {
    const a = await h.client();
    const ch = a.subscribe('private-spam');
    await subscribed(ch);
    const error = onceBound<{ data: { code: number } }>(a.connection, 'error');
    for (let i = 0; i < 50; i++) ch.trigger('client-spam', { i });
    expect((await error).data.code).toBe(4301);
  });

  it('decrypts private-encrypted channel events', async () => {
    const p = await h.client();
    const ch = p.subscribe('private-encrypted-vault');
    await subscribed(ch);
    const got = onceBound(ch, 'gold');
    await h.server.trigger('private-encrypted-vault', 'gold', { bars: 3 });
    expect(await got).toEqual({ bars: 3 });
  });

  it('serves cache channels from history, or cache_miss when empty', async () => {
    const p = await h.client();
    const empty = p.subscribe('cache-empty');
    await onceBound(empty, 'pusher:cache_miss');

    await h.server.trigger('cache-prices', 'price', { v: 1 });
    await h.server.trigger('cache-prices', 'price', { v: 2 });
    const ch = p.subscribe('cache-prices');
    expect(await onceBound(ch, 'price')).toEqual({ v: 2 });
  });

  it('signs in users and delivers sendToUser and Herald user publishes', async () => {
    const p = await h.client({ user: 'carol' });
    // pusher-js subscribes to #server-to-user-carol after signin_success: wait for that reply.
    const userChannelReady = new Promise<void>((resolve) =>
      p.connection.bind('message', (ev: { event: string; channel?: string }) => {
        if (ev.event === 'pusher_internal:subscription_succeeded' && ev.channel === '#server-to-user-carol')
          resolve();
      }),
    );
    p.signin();
    await withTimeout(userChannelReady, WAIT_MS, 'server-to-user subscription');
    const got = onceBound(p.user, 'note');
    await h.server.sendToUser('carol', 'note', { hi: 1 });
    expect(await got).toEqual({ hi: 1 });
    const native = onceBound(p.user, 'message');
    await node.rest(h.app).publishToUser('carol', { plain: true });
    expect(await native).toEqual({ plain: true });
  });

  it('answers every HTTP API call', async () => {
    const a = await h.client({ presence: { user_id: 'dave' } });
    await subscribed(a.subscribe('presence-api'));
    await subscribed(a.subscribe('api-public'));

    const triggered = (await (
      await h.server.trigger(
        ['presence-api', 'api-public'],
        'e',
        {},
        { info: 'subscription_count,user_count' },
      )
    ).json()) as { channels: Record<string, { subscription_count?: number; user_count?: number }> };
    expect(triggered.channels['presence-api']).toEqual({ subscription_count: 1, user_count: 1 });
    expect(triggered.channels['api-public']).toEqual({ subscription_count: 1 });

    const batch = (await (
      await h.server.triggerBatch([
        { channel: 'api-public', name: 'b1', data: {} },
        { channel: 'presence-api', name: 'b2', data: {} },
      ])
    ).json()) as { batch: unknown[] };
    expect(batch.batch).toHaveLength(2);

    const all = (await (
      await h.server.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } })
    ).json()) as {
      channels: Record<string, { user_count: number }>;
    };
    expect(all.channels['presence-api']).toEqual({ user_count: 1 });
    expect(Object.keys(all.channels).every((c) => c.startsWith('presence-'))).toBe(true);

    const one = (await (
      await h.server.get({
        path: '/channels/presence-api',
        params: { info: 'user_count,subscription_count' },
      })
    ).json()) as Record<string, unknown>;
    expect(one).toEqual({ occupied: true, user_count: 1, subscription_count: 1 });
    const vacant = (await (await h.server.get({ path: '/channels/nobody-here' })).json()) as Record<
      string,
      unknown
    >;
    expect(vacant).toEqual({ occupied: false });

    await expect(h.server.get({ path: '/channels', params: { info: 'user_count' } })).rejects.toMatchObject({
      status: 400,
    });
    await expect(h.server.get({ path: '/channels/api-public/users' })).rejects.toMatchObject({ status: 400 });
  });

  it("terminates a user's connections with 4009", async () => {
    const raw = RawPusher.open(`${wsBase}/app/${h.app.key}?protocol=7`);
    const est = await raw.next('pusher:connection_established');
    const socketId = (est.data as { socket_id: string }).socket_id;
    const auth = h.server.authenticateUser(socketId, { id: 'erin' });
    raw.send('pusher:signin', auth);
    await raw.next('pusher:signin_success');
    await h.server.terminateUserConnections('erin');
    const err = await raw.next('pusher:error');
    expect((err.data as { code: number }).code).toBe(4009);
    expect((await raw.closed).code).toBe(4009);
  });

  it('shares channels with native Herald clients in both directions', async () => {
    const native = await node.connect(h.app, 'nat');
    await native.request({ cmd: 'subscribe', channel: 'shared-room' });
    const p = await h.client();
    const ch = p.subscribe('shared-room');
    await subscribed(ch);

    // Pusher HTTP API -> native: the publication data is {event, data} with Pusher's data string.
    await h.server.trigger('shared-room', 'from-pusher', { a: 1 });
    const [pub] = await native.nextPubs('shared-room', 1);
    expect(pub.data).toEqual({ event: 'from-pusher', data: JSON.stringify({ a: 1 }) });

    // REST v1 -> Pusher: an envelope keeps its event name; other data arrives as `message`.
    const named = onceBound(ch, 'greet');
    await node.rest(h.app).publish('shared-room', { event: 'greet', data: { b: 2 } });
    expect(await named).toEqual({ b: 2 });
    const plain = onceBound(ch, 'message');
    await node.rest(h.app).publish('shared-room', { c: 3 });
    expect(await plain).toEqual({ c: 3 });

    // A Pusher client event reaches a native subscriber, with the socket id as the client.
    await native.request({
      cmd: 'subscribe',
      channel: 'private-shared',
      token: h.app.subToken('nat', 'private-shared'),
    });
    const priv = p.subscribe('private-shared');
    await subscribed(priv);
    priv.trigger('client-hi', { d: 4 });
    const [ev] = await native.nextPubs('private-shared', 1);
    expect(ev.data).toEqual({ event: 'client-hi', data: { d: 4 } });
    expect(ev.info).toEqual({ user: '', client: p.connection.socket_id });
  });

  it('excludes the socket_id given to the HTTP API', async () => {
    const a = await h.client();
    const b = await h.client();
    const chA = a.subscribe('excl');
    const chB = b.subscribe('excl');
    await Promise.all([subscribed(chA), subscribed(chB)]);
    const seenByA = collect(chA, 'x');
    const gotB = onceBound(chB, 'x');
    await h.server.trigger('excl', 'x', { n: 1 }, { socket_id: a.connection.socket_id });
    await gotB;
    const sentinel = onceBound(chA, 'sentinel');
    await h.server.trigger('excl', 'sentinel', {});
    await sentinel;
    expect(seenByA).toEqual([]);
  });
});

/** A Pusher HTTP API request signed by hand (for what the server library refuses to send). */
async function signedFetch(
  node: TestNode,
  app: TestApp,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const params = [
    `auth_key=${app.key}`,
    `auth_timestamp=${Math.floor(Date.now() / 1000)}`,
    'auth_version=1.0',
  ];
  if (text !== undefined) params.push(`body_md5=${createHash('md5').update(text).digest('hex')}`);
  const query = params.sort().join('&');
  const sig = hmacHex(app.secret, `${method}\n${path}\n${query}`);
  return fetch(`${node.url}${path}?${query}&auth_signature=${sig}`, {
    method,
    ...(text !== undefined ? { body: text, headers: { 'content-type': 'application/json' } } : {}),
  });
}

describe('Pusher protocol: refusals with Pusher codes', () => {
  let node: TestNode;
  let wsBase: string;
  let app: TestApp;

  beforeAll(async () => {
    node = await startTestNode();
    wsBase = node.url.replace(/^http/, 'ws');
    app = node.apps.alpha;
  });

  afterAll(async () => {
    await node.close();
  });

  it.each([
    ['unknown key', (k: string) => `/app/nope-${k}?protocol=7`, 4001],
    ['no key', () => '/app/?protocol=7', 4005],
    ['extra path', (k: string) => `/app/${k}/more?protocol=7`, 4005],
    ['no protocol', (k: string) => `/app/${k}`, 4008],
    ['malformed version', (k: string) => `/app/${k}?protocol=seven`, 4006],
    ['unsupported version', (k: string) => `/app/${k}?protocol=9`, 4007],
  ])('%s is refused with %s', async (_name, path, code) => {
    const raw = RawPusher.open(`${wsBase}${path(app.key)}`);
    const err = await raw.next('pusher:error');
    expect((err.data as { code: number }).code).toBe(code);
    expect((await raw.closed).code).toBe(code);
  });

  it('refuses a subscription signed for another socket id', async () => {
    const raw = RawPusher.open(`${wsBase}/app/${app.key}?protocol=7`);
    await raw.next('pusher:connection_established');
    const auth = `${app.key}:${hmacHex(app.secret, '123.456:private-x')}`;
    raw.send('pusher:subscribe', { channel: 'private-x', auth });
    const err = await raw.next('pusher:subscription_error');
    expect(err.channel).toBe('private-x');
    expect((err.data as { status: number }).status).toBe(401);
    raw.send('pusher:subscribe', { channel: 'bad channel!' });
    const invalid = await raw.next('pusher:subscription_error');
    expect((invalid.data as { status: number }).status).toBe(400);
    raw.ws.close();
  });

  it('refuses bad HTTP API signatures, expired timestamps and malformed socket ids', async () => {
    const wrong = new PusherServer({
      appId: app.id,
      key: app.key,
      secret: 'x'.repeat(48),
      host: '127.0.0.1',
      port: String(node.port),
      useTLS: false,
    });
    await expect(wrong.trigger('c', 'e', {})).rejects.toMatchObject({ status: 401 });

    // The server library refuses malformed socket ids itself; a hand-signed request reaches the node.
    const malformed = await signedFetch(node, app, 'POST', `/apps/${app.id}/events`, {
      name: 'e',
      channels: ['c'],
      data: '{}',
      socket_id: '12x.3',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toMatch(/socket id/i);
    const badName = await signedFetch(node, app, 'POST', `/apps/${app.id}/events`, {
      name: 'e',
      channels: ['bad channel!'],
      data: '{}',
    });
    expect(badName.status).toBe(400);
    const tooBig = await signedFetch(node, app, 'POST', `/apps/${app.id}/events`, {
      name: 'e',
      channels: ['c'],
      data: 'x'.repeat(10 * 1024 + 1),
    });
    expect(tooBig.status).toBe(413);
    const tooMany = await signedFetch(node, app, 'POST', `/apps/${app.id}/events`, {
      name: 'e',
      channels: Array.from({ length: 101 }, (_, i) => `c${i}`),
      data: '{}',
    });
    expect(tooMany.status).toBe(400);
    const bigBatch = await signedFetch(node, app, 'POST', `/apps/${app.id}/batch_events`, {
      batch: Array.from({ length: 11 }, () => ({ name: 'e', channel: 'c', data: '{}' })),
    });
    expect(bigBatch.status).toBe(400);

    // An old timestamp, correctly signed: refused as expired.
    const ts = Math.floor(Date.now() / 1000) - 3600;
    const path = `/apps/${app.id}/channels`;
    const query = `auth_key=${app.key}&auth_timestamp=${ts}&auth_version=1.0`;
    const sig = hmacHex(app.secret, `GET\n${path}\n${query}`);
    const res = await fetch(`${node.url}${path}?${query}&auth_signature=${sig}`);
    expect(res.status).toBe(401);
    expect(await res.text()).toMatch(/expired/i);

    // The same request with a fresh timestamp passes, so only the timestamp was at fault.
    const now = Math.floor(Date.now() / 1000);
    const q2 = `auth_key=${app.key}&auth_timestamp=${now}&auth_version=1.0`;
    const ok = await fetch(
      `${node.url}${path}?${q2}&auth_signature=${hmacHex(app.secret, `GET\n${path}\n${q2}`)}`,
    );
    expect(ok.status).toBe(200);

    // A body whose MD5 does not match what was signed.
    const body = JSON.stringify({ name: 'e', channels: ['c'], data: '{}' });
    const q3 = `auth_key=${app.key}&auth_timestamp=${now}&auth_version=1.0&body_md5=${'0'.repeat(32)}`;
    const evPath = `/apps/${app.id}/events`;
    const tampered = await fetch(
      `${node.url}${evPath}?${q3}&auth_signature=${hmacHex(app.secret, `POST\n${evPath}\n${q3}`)}`,
      { method: 'POST', body, headers: { 'content-type': 'application/json' } },
    );
    expect(tampered.status).toBe(401);

    const unknown = await fetch(`${node.url}/apps/nope/channels?${q2}&auth_signature=x`);
    expect(unknown.status).toBe(404);
  });

  it('refuses a wrong auth_version with 401, even correctly signed', async () => {
    const path = `/apps/${app.id}/channels`;
    const now = Math.floor(Date.now() / 1000);
    for (const version of ['2.0', '1', '']) {
      const query = `auth_key=${app.key}&auth_timestamp=${now}&auth_version=${version}`;
      const res = await fetch(
        `${node.url}${path}?${query}&auth_signature=${hmacHex(app.secret, `GET\n${path}\n${query}`)}`,
      );
      expect(res.status).toBe(401);
      expect(await res.text()).toMatch(/auth_version/);
    }
  });

  it('refuses a pusher:signin with a bad signature: pusher:error 4009, then the connection closes with 4009', async () => {
    const raw = RawPusher.open(`${wsBase}/app/${app.key}?protocol=7`);
    const est = await raw.next('pusher:connection_established');
    const socketId = (est.data as { socket_id: string }).socket_id;
    const userData = JSON.stringify({ id: 'mallory' });
    // Signed with the wrong secret; then the right secret over another socket id.
    for (const auth of [
      `${app.key}:${hmacHex('y'.repeat(48), `${socketId}::user::${userData}`)}`,
      `${app.key}:${hmacHex(app.secret, `1.2::user::${userData}`)}`,
    ]) {
      const conn = RawPusher.open(`${wsBase}/app/${app.key}?protocol=7`);
      await conn.next('pusher:connection_established');
      conn.send('pusher:signin', { auth, user_data: userData });
      const err = await conn.next('pusher:error');
      expect((err.data as { code: number }).code).toBe(4009);
      expect((await withTimeout(conn.closed, 5000, 'no close')).code).toBe(4009);
      expect(conn.frames.some((f) => f.event === 'pusher:signin_success')).toBe(false);
    }
    // The same sign-in, correctly signed for this socket, succeeds (only the signature was at fault).
    raw.send('pusher:signin', {
      auth: `${app.key}:${hmacHex(app.secret, `${socketId}::user::${userData}`)}`,
      user_data: userData,
    });
    await raw.next('pusher:signin_success');
    raw.ws.close();
  });
});

describe('Pusher protocol: channel prefixes over namespace options', () => {
  let node: TestNode;

  beforeAll(async () => {
    // beta's default namespace keeps no history and has no presence of its own.
    node = await startTestNode({ apps: { beta: { namespaces: { default: {} } } } });
  });

  afterAll(async () => {
    await node.close();
  });

  it('keeps the last event of cache- channels, published by either API', async () => {
    const app = node.apps.beta;
    const server = pusherServer(node, app);
    await server.trigger('cache-a', 'tick', { n: 1 });
    await node.rest(app).publish('cache-b', { event: 'tock', data: { n: 2 } });
    const raw = RawPusher.open(`${node.url.replace(/^http/, 'ws')}/app/${app.key}?protocol=7`);
    await raw.next('pusher:connection_established');
    raw.send('pusher:subscribe', { channel: 'cache-a' });
    expect(await raw.next('tick')).toMatchObject({ channel: 'cache-a', data: { n: 1 } });
    raw.send('pusher:subscribe', { channel: 'cache-b' });
    expect(await raw.next('tock')).toMatchObject({ channel: 'cache-b', data: { n: 2 } });
    // A plain public channel of the same namespace keeps nothing.
    await server.trigger('plain', 'x', {});
    const history = await node.rest(app).call('GET', '/channels/plain/history');
    expect(history.status).toBe(404);
    raw.ws.close();
  });

  it('makes presence- channels presence channels for native clients too', async () => {
    const app = node.apps.beta;
    const native = await node.connect(app, 'nat');
    const denied = native.request({ cmd: 'subscribe', channel: 'presence-room' });
    await expect(denied).rejects.toMatchObject({ code: 210 });
    const ok = await native.request({
      cmd: 'subscribe',
      channel: 'presence-room',
      token: app.subToken('nat', 'presence-room'),
    });
    expect(ok).toMatchObject({ recoverable: false });
    const members = await native.request({ cmd: 'presence', channel: 'presence-room' });
    expect(members.members.map((m) => m.user)).toEqual(['nat']);
  });
});

describe('Pusher protocol: connection quota', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startTestNode({ limits: { maxConnections: 1 } });
  });

  afterAll(async () => {
    await node.close();
  });

  it('refuses a connection over the app quota with 4004, and user channels before sign-in', async () => {
    const base = `${node.url.replace(/^http/, 'ws')}/app/${node.apps.alpha.key}?protocol=7`;
    const first = RawPusher.open(base);
    await first.next('pusher:connection_established');
    const second = RawPusher.open(base);
    expect(((await second.next('pusher:error')).data as { code: number }).code).toBe(4004);
    expect((await second.closed).code).toBe(4004);

    first.send('pusher:subscribe', { channel: '#server-to-user-someone' });
    const err = await first.next('pusher:subscription_error');
    expect((err.data as { status: number }).status).toBe(403);
    first.ws.close();
  });
});

describe('Pusher protocol: liveness on Pusher activity semantics', () => {
  let node: TestNode;
  const ACTIVITY_MS = 2000;
  const PONG_MS = 1000;

  beforeAll(async () => {
    // The native ping cycle is faster than the Pusher activity timeout: Pusher connections must
    // follow the latter only (ping after 2 s of silence, close 1 s after an unanswered ping).
    node = await startTestNode({
      node: {
        ws: { pingIntervalSeconds: 1, pongTimeoutSeconds: 1 },
        pusher: { activityTimeoutSeconds: ACTIVITY_MS / 1000, pongTimeoutSeconds: PONG_MS / 1000 },
      },
    });
  });

  afterAll(async () => {
    await node.close();
  });

  const url = () => `${node.url.replace(/^http/, 'ws')}/app/${node.apps.alpha.key}?protocol=7`;

  it('answers a client ping with pong', async () => {
    const raw = RawPusher.open(url());
    await raw.next('pusher:connection_established');
    raw.send('pusher:ping', {});
    await raw.next('pusher:pong');
    raw.ws.close();
  });

  it('pings after activity_timeout of silence, a pong keeps it open, no pong closes with 4201', async () => {
    const raw = RawPusher.open(url());
    const est = await raw.next('pusher:connection_established');
    expect((est.data as { activity_timeout: number }).activity_timeout).toBe(ACTIVITY_MS / 1000);
    const t0 = Date.now();
    await withTimeout(raw.next('pusher:ping'), 3 * ACTIVITY_MS, 'first ping');
    // Not before activity_timeout (the native 1 s ping cycle would have pinged at about 1 s).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(ACTIVITY_MS - 100);
    raw.send('pusher:pong', {});
    const t1 = Date.now();
    await withTimeout(raw.next('pusher:ping'), 3 * ACTIVITY_MS, 'second ping');
    expect(Date.now() - t1).toBeGreaterThanOrEqual(ACTIVITY_MS - 100);
    // The pong kept the connection: nothing but pings so far, no error, no close.
    expect(raw.frames.map((f) => f.event)).toEqual([
      'pusher:connection_established',
      'pusher:ping',
      'pusher:ping',
    ]);
    // No answer to the second ping: closed with 4201 after the pong timeout.
    const t2 = Date.now();
    const closed = await withTimeout(raw.closed, 3 * (PONG_MS + 1000), 'no close');
    expect(closed.code).toBe(4201);
    expect(Date.now() - t2).toBeGreaterThanOrEqual(PONG_MS - 100);
    expect(raw.frames.at(-1)).toMatchObject({ event: 'pusher:error', data: { code: 4201 } });
  }, 20_000);
});
