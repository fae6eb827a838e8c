import { EventSource } from 'eventsource';
import { DisconnectCode, ErrorCode, type ConnectPush, type ServerFrame } from '@herald/protocol';
import {
  FrameInbox,
  SseStream,
  deferred,
  isPub,
  sessionCommands,
  startTestNode,
  uniqueId,
  withTimeout,
  type PubFrame,
  type TestApp,
  type TestNode,
} from '@herald/testing';

// Server-Sent Events (docs/protocol.md "Transports"): a one-way stream of the session's pushes,
// each event with an id that resumes every channel; commands travel over POST to the session
// endpoint. Checked with the `eventsource` package (as a browser would use it) and raw HTTP.

let node: TestNode;

beforeAll(async () => {
  // A short retry so EventSource reconnects quickly; a 1 s heartbeat so a test can see one.
  node = await startTestNode({
    node: { sse: { retryMilliseconds: 20, heartbeatSeconds: 1 } },
    apps: { alpha: { allowedOrigins: ['https://app.example.com'] } },
  });
});

afterAll(async () => {
  await node?.close();
});

function sseUrl(app: TestApp | string, query: Record<string, string> = {}): string {
  const url = new URL('/connection/sse', node.url);
  url.searchParams.set('key', typeof app === 'string' ? app : app.key);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return url.toString();
}

/**
 * An EventSource whose connections the test can cut (as a network failure would: the body stream
 * errors and the socket closes) and whose reconnects it can hold back, recording the
 * Last-Event-ID each request carried. (An abort would not do: EventSource takes an AbortError for
 * its own close() and stops.)
 */
function controllableEventSource(url: string) {
  const requests: { lastEventId: string | null }[] = [];
  const cuts: (() => void)[] = [];
  let gate: Promise<void> = Promise.resolve();
  const frames = new FrameInbox<ServerFrame>();
  const es = new EventSource(url, {
    fetch: async (input, init) => {
      await gate;
      const headers = new Headers(init.headers);
      requests.push({ lastEventId: headers.get('last-event-id') });
      const abort = new AbortController();
      init.signal?.addEventListener('abort', () => abort.abort());
      const res = await fetch(input, { ...init, signal: abort.signal });
      if (!res.body) return res;
      const reader = res.body.getReader();
      const lost = deferred<never>();
      lost.promise.catch(() => undefined);
      cuts.push(() => {
        lost.reject(new TypeError('network connection lost'));
        abort.abort();
      });
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            const chunk = await Promise.race([reader.read(), lost.promise]);
            if (chunk.done) controller.close();
            else controller.enqueue(chunk.value);
          } catch (err) {
            controller.error(err);
          }
        },
        cancel: (reason) => reader.cancel(reason),
      });
      return new Response(body, { status: res.status, headers: res.headers });
    },
  });
  es.addEventListener('message', (e) => frames.push(JSON.parse(e.data) as ServerFrame));
  return {
    es,
    frames,
    requests,
    /** Cuts the current connection; the next reconnect waits until the returned release is called. */
    cut(): () => void {
      const held = deferred();
      gate = held.promise;
      cuts[cuts.length - 1]();
      return () => held.resolve();
    },
  };
}

const connectOf = (f: ServerFrame): f is ConnectPush => 'push' in f && f.push === 'connect';

describe('SSE with the eventsource client', () => {
  it('receives publications on the channels of the URL', async () => {
    const { alpha } = node.apps;
    const channel = uniqueId('sse-live');
    const client = controllableEventSource(sseUrl(alpha, { token: alpha.token('sse-1'), channels: channel }));
    try {
      const connect = (await client.frames.next(connectOf)) as ConnectPush;
      expect(connect.user).toBe('sse-1');
      expect(connect.subs[channel]).toEqual({ recoverable: true, offset: 0, epoch: expect.any(String) });
      expect(connect.session).toMatch(/^hs1:/);
      const rest = node.rest(alpha);
      await rest.publish(channel, 'one');
      await rest.publish(channel, 'two');
      const got = [await client.frames.next(isPub(channel)), await client.frames.next(isPub(channel))];
      expect(got.map((f) => (f as PubFrame).pub)).toEqual([
        { offset: 1, data: 'one' },
        { offset: 2, data: 'two' },
      ]);
    } finally {
      client.es.close();
    }
  });

  it('reconnects with Last-Event-ID and receives exactly the missed publications, in order', async () => {
    const { alpha } = node.apps;
    const rest = node.rest(alpha);
    const channel = uniqueId('sse-resume');
    const client = controllableEventSource(sseUrl(alpha, { token: alpha.token('sse-2'), channels: channel }));
    try {
      const first = (await client.frames.next(connectOf)) as ConnectPush;
      await rest.publish(channel, 'seen-1');
      await rest.publish(channel, 'seen-2');
      await client.frames.next(isPub(channel));
      await client.frames.next(isPub(channel));

      const closed = node.serverCloses.wait((c) => c.client === first.client);
      const release = client.cut();
      await closed; // the server saw the connection go
      for (let i = 1; i <= 3; i++) await rest.publish(channel, `missed-${i}`);
      release();

      const again = (await client.frames.next(connectOf)) as ConnectPush;
      expect(again.client).not.toBe(first.client);
      expect(again.subs[channel]).toMatchObject({ recoverable: true, recovered: true, offset: 5 });
      expect(client.requests[1].lastEventId).toMatch(/^1\./);
      await rest.publish(channel, 'live');
      const pubs: unknown[] = [];
      for (let i = 0; i < 4; i++) pubs.push(((await client.frames.next(isPub(channel))) as PubFrame).pub);
      expect(pubs).toEqual([
        { offset: 3, data: 'missed-1' },
        { offset: 4, data: 'missed-2' },
        { offset: 5, data: 'missed-3' },
        { offset: 6, data: 'live' },
      ]);
      expect(client.frames.take(isPub(channel))).toEqual([]);
    } finally {
      client.es.close();
    }
  });
});

describe('SSE over raw HTTP', () => {
  it('takes the token from Authorization and channels from its claim; sends retry and clean ids', async () => {
    const { alpha } = node.apps;
    const channel = uniqueId('sse-claim');
    const stream = await SseStream.open(sseUrl(alpha), {
      authorization: `Bearer ${alpha.token('sse-3', { channels: [channel] })}`,
    });
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
      const connect = await stream.connected();
      expect(Object.keys(connect.subs).sort()).toEqual(['#sse-3', channel].sort());
      expect(stream.parser.retry).toBe(20);
      await node.rest(alpha).publish(channel, { n: 1 });
      expect(await stream.pubs(channel, 1)).toEqual([{ offset: 1, data: { n: 1 } }]);
      for (const e of stream.events) {
        expect(e.id).toBeDefined();
        expect(e.id).not.toMatch(/[\r\n\0]/);
      }
      // An idle stream gets comment heartbeats (1 s in this node).
      await stream.nextComment(3000);
    } finally {
      await stream.kill();
    }
  });

  it('resumes several channels from one Last-Event-ID, including one subscribed over POST', async () => {
    const { alpha } = node.apps;
    const rest = node.rest(alpha);
    const a = uniqueId('sse-a');
    const b = uniqueId('sse-b');
    const stream = await SseStream.open(sseUrl(alpha, { token: alpha.token('sse-4'), channels: a }));
    const connect = await stream.connected();
    const sub = await sessionCommands(node.url, connect.client, connect.session, [
      { id: 1, cmd: 'subscribe', channel: b },
    ]);
    expect(sub.frames).toEqual([
      { id: 1, result: { recoverable: true, offset: 0, epoch: expect.any(String) } },
    ]);
    await rest.publish(a, 'a1');
    await rest.publish(b, 'b1');
    await stream.pubs(a, 1);
    await stream.pubs(b, 1);
    const lastId = stream.parser.lastEventId;
    await stream.kill();
    await rest.publish(b, 'b2');
    await rest.publish(a, 'a2');

    const again = await SseStream.open(sseUrl(alpha, { token: alpha.token('sse-4'), channels: a }), {
      'last-event-id': lastId,
    });
    try {
      const resumed = await again.connected();
      expect(resumed.subs[a]).toMatchObject({ recovered: true, offset: 2 });
      expect(resumed.subs[b]).toMatchObject({ recovered: true, offset: 2 });
      expect(await again.pubs(a, 1)).toEqual([{ offset: 2, data: 'a2' }]);
      expect(await again.pubs(b, 1)).toEqual([{ offset: 2, data: 'b2' }]);
    } finally {
      await again.kill();
    }
  });

  it.each([
    ['garbage', () => 'not-an-id'],
    ['oversized', () => `1.${'A'.repeat(9000)}.x.0.0`],
    ['a tampered id', () => 'TAMPER'],
    ['another app’s id', () => 'BETA'],
  ])('treats %s as an unknown position: recovered false and nothing replayed', async (_, make) => {
    const { alpha, beta } = node.apps;
    const channel = uniqueId('sse-unknown');
    // History on the same channel name in both apps, so a leak would show.
    await node.rest(alpha).publish(channel, 'alpha-1');
    await node.rest(beta).publish(channel, 'beta-1');
    await node.rest(beta).publish(channel, 'beta-2');

    let lastEventId = make();
    if (lastEventId === 'BETA' || lastEventId === 'TAMPER') {
      // A real id issued by beta for the same user and channel name, taken before beta's publications.
      const other = await SseStream.open(sseUrl(beta, { token: beta.token('sse-5'), channels: channel }));
      await other.connected();
      lastEventId = other.parser.lastEventId;
      await other.kill();
      if (make() === 'TAMPER') {
        // Alpha's own id, with its channel list swapped: the MAC no longer verifies.
        const own = await SseStream.open(sseUrl(alpha, { token: alpha.token('sse-5'), channels: channel }));
        await own.connected();
        const parts = own.parser.lastEventId.split('.');
        parts[1] = lastEventId.split('.')[1];
        lastEventId = parts.join('.');
        await own.kill();
      }
    }
    const stream = await SseStream.open(sseUrl(alpha, { token: alpha.token('sse-5'), channels: channel }), {
      'last-event-id': lastEventId,
    });
    try {
      const connect = await stream.connected();
      expect(connect.subs[channel]).toEqual({
        recoverable: true,
        recovered: false,
        offset: 1,
        epoch: expect.any(String),
      });
      await node.rest(alpha).publish(channel, 'alpha-2');
      // Nothing before the live publication: no replay of alpha's history, nothing of beta's.
      expect(await stream.pubs(channel, 1)).toEqual([{ offset: 2, data: 'alpha-2' }]);
      expect(stream.frames.take()).toEqual([]);
    } finally {
      await stream.kill();
    }
  });

  it('refuses a terminal failure with a disconnect event and a stop id, then answers 204', async () => {
    const stream = await SseStream.open(sseUrl('no-such-key-123'));
    await stream.ended;
    expect(stream.status).toBe(200);
    const [frame] = stream.frames.all;
    expect(frame).toMatchObject({
      push: 'disconnect',
      code: DisconnectCode.UNKNOWN_APP.code,
      reconnect: false,
    });
    expect(stream.parser.lastEventId).toBe(`stop.${DisconnectCode.UNKNOWN_APP.code}`);

    const { alpha } = node.apps;
    const again = await SseStream.open(sseUrl(alpha, { token: alpha.token('sse-6') }), {
      'last-event-id': stream.parser.lastEventId,
    });
    await again.ended;
    expect(again.status).toBe(204);
  });

  it('answers an invalid token with the error and a terminal disconnect', async () => {
    const { alpha, beta } = node.apps;
    const stream = await SseStream.open(sseUrl(alpha, { token: beta.token('sse-7') }));
    await stream.ended;
    expect(stream.frames.all).toEqual([
      {
        push: 'disconnect',
        code: DisconnectCode.INVALID_TOKEN.code,
        reason: expect.any(String),
        reconnect: false,
        error: { code: expect.any(Number), message: expect.any(String) },
      },
    ]);
  });
});

describe('the session endpoint with SSE', () => {
  it('does a subscribe, publish and presence round trip entirely over SSE and POST', async () => {
    const { alpha } = node.apps;
    const channel = `chat:${uniqueId('sse-rt')}`;
    const watcher = await SseStream.open(sseUrl(alpha, { token: alpha.token('rt-watcher') }));
    const w = await watcher.connected();
    const stream = await SseStream.open(sseUrl(alpha, { token: alpha.token('rt-user') }));
    const me = await stream.connected();
    try {
      const sub = await sessionCommands(node.url, w.client, w.session, [
        { id: 1, cmd: 'subscribe', channel },
      ]);
      expect(sub.status).toBe(200);
      expect(sub.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
      const replies = await sessionCommands(node.url, me.client, me.session, [
        { id: 1, cmd: 'subscribe', channel },
        { id: 2, cmd: 'publish', channel, data: { text: 'hi' } },
        { id: 3, cmd: 'presence', channel },
        { id: 4, cmd: 'presence_stats', channel },
        { id: 5, cmd: 'history', channel, limit: 0 },
        { id: 6, cmd: 'publish', channel: `chat:${uniqueId('other')}`, data: 1 },
      ]);
      expect(replies.frames.map((f) => ('id' in f ? f.id : 0))).toEqual([1, 2, 3, 4, 5, 6]);
      expect(replies.frames[1]).toEqual({ id: 2, result: { offset: 1, epoch: expect.any(String) } });
      const presence = replies.frames[2] as { result: { members: { user: string }[] } };
      expect(presence.result.members.map((m) => m.user).sort()).toEqual(['rt-user', 'rt-watcher']);
      expect(replies.frames[3]).toEqual({ id: 4, result: { num_clients: 2, num_users: 2 } });
      expect(replies.frames[5]).toMatchObject({ id: 6, error: { code: ErrorCode.NOT_SUBSCRIBED.code } });

      // The publication and the join arrive as events on both streams.
      const info = { user: 'rt-user', client: me.client };
      const joinOf = (user: string) => (f: ServerFrame) =>
        'push' in f && f.push === 'join' && f.info.user === user;
      expect(await watcher.frames.next(joinOf('rt-user'))).toEqual({ push: 'join', channel, info });
      expect(await watcher.pubs(channel, 1)).toEqual([{ offset: 1, data: { text: 'hi' }, info }]);
      expect(await stream.pubs(channel, 1)).toEqual([{ offset: 1, data: { text: 'hi' }, info }]);

      // Leaving presence is seen by the others.
      await sessionCommands(node.url, me.client, me.session, [{ id: 7, cmd: 'unsubscribe', channel }]);
      expect(await watcher.frames.next((f) => 'push' in f && f.push === 'leave')).toEqual({
        push: 'leave',
        channel,
        info,
      });
    } finally {
      await stream.kill();
      await watcher.kill();
    }
  });

  it('accepts the connection token of the session user, and refuses other credentials', async () => {
    const { alpha, beta } = node.apps;
    const stream = await SseStream.open(sseUrl(alpha, { token: alpha.token('auth-user') }));
    const me = await stream.connected();
    const other = await SseStream.open(sseUrl(alpha, { token: alpha.token('auth-other') }));
    const them = await other.connected();
    try {
      const ping = [{ id: 1, cmd: 'presence_stats', channel: '#auth-user' }];
      const byToken = await sessionCommands(node.url, me.client, alpha.token('auth-user'), ping);
      expect(byToken.status).toBe(200);
      expect(byToken.frames[0]).toMatchObject({ id: 1, error: { code: ErrorCode.NOT_AVAILABLE.code } });

      const cases: [string | undefined, number][] = [
        [undefined, ErrorCode.UNAUTHORIZED.code],
        [them.session, ErrorCode.UNAUTHORIZED.code], // another session's credential
        [`${me.session}x`, ErrorCode.UNAUTHORIZED.code],
        [alpha.token('auth-other'), ErrorCode.TOKEN_USER_MISMATCH.code], // same app, other user
        [beta.token('auth-user'), ErrorCode.TOKEN_WRONG_APP.code], // another app's token, same user id
      ];
      for (const [credential, code] of cases) {
        const res = await sessionCommands(node.url, me.client, credential, ping);
        expect({ status: res.status, body: JSON.parse(res.text) as unknown }).toEqual({
          status: 401,
          body: { error: { code, name: expect.any(String), message: expect.any(String) } },
        });
      }
      const unknown = await sessionCommands(node.url, 'no-such-session', me.session, ping);
      expect(unknown.status).toBe(404);
    } finally {
      await stream.kill();
      await other.kill();
    }
  });

  it('closes the session for a malformed frame, as WebSocket does', async () => {
    const { alpha } = node.apps;
    const stream = await SseStream.open(sseUrl(alpha, { token: alpha.token('bad-frame') }));
    const me = await stream.connected();
    const res = await sessionCommands(node.url, me.client, me.session, ['{not json']);
    expect(res.frames).toEqual([
      {
        push: 'disconnect',
        code: DisconnectCode.BAD_REQUEST.code,
        reason: expect.any(String),
        reconnect: false,
      },
    ]);
    expect(await stream.frames.next()).toMatchObject({
      push: 'disconnect',
      code: DisconnectCode.BAD_REQUEST.code,
    });
    await stream.ended;
  });
});

describe('CORS', () => {
  const preflight = (path: string, origin: string, method: string) =>
    fetch(new URL(path, node.url), {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': method,
        'access-control-request-headers': 'authorization, content-type',
      },
    });

  it('answers preflights from allowed origins and refuses others', async () => {
    const { alpha } = node.apps;
    for (const path of [`/connection/sse?key=${alpha.key}`, `/connection/poll?key=${alpha.key}`]) {
      const ok = await preflight(path, 'https://app.example.com', 'GET');
      expect(ok.status).toBe(204);
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(ok.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
      expect(ok.headers.get('access-control-allow-credentials')).toBeNull();
      const refused = await preflight(path, 'https://evil.example.org', 'GET');
      expect(refused.status).toBe(403);
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    }
    // The session endpoint answers from the session's app.
    const stream = await SseStream.open(sseUrl(alpha, { token: alpha.token('cors-user') }), {
      origin: 'https://app.example.com',
    });
    try {
      expect(stream.headers['access-control-allow-origin']).toBe('https://app.example.com');
      const me = await stream.connected();
      const path = `/connection/session/${me.client}`;
      expect((await preflight(path, 'https://app.example.com', 'POST')).status).toBe(204);
      expect((await preflight(path, 'https://evil.example.org', 'POST')).status).toBe(403);
      const post = await sessionCommands(
        node.url,
        me.client,
        me.session,
        [{ id: 1, cmd: 'presence_stats', channel: 'x' }],
        {
          origin: 'https://app.example.com',
        },
      );
      expect(post.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    } finally {
      await stream.kill();
    }
    // A stream from a refused origin is not opened.
    const refused = await SseStream.open(sseUrl(alpha, { token: alpha.token('cors-user') }), {
      origin: 'https://evil.example.org',
    });
    await refused.ended;
    expect(refused.status).toBe(403);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('SSE limits', () => {
  it('sheds new streams over the node budget with 200, retry and a disconnect event (never 503)', async () => {
    const busy = await startTestNode({
      node: { newConnectionsPerSecond: 1, sse: { retryMilliseconds: 1000 } },
    });
    try {
      const { alpha } = busy.apps;
      const url = new URL('/connection/sse', busy.url);
      url.searchParams.set('key', alpha.key);
      url.searchParams.set('token', alpha.token('busy'));
      const streams: SseStream[] = [];
      let shed: SseStream | undefined;
      // Burst 2: the third stream within the second is shed.
      for (let i = 0; i < 3 && !shed; i++) {
        const s = await SseStream.open(url.toString());
        const first = await s.frames.next();
        if ('push' in first && first.push === 'disconnect') shed = s;
        else streams.push(s);
      }
      expect(shed).toBeDefined();
      await shed?.ended;
      expect(shed?.status).toBe(200);
      expect(shed?.frames.all[0]).toMatchObject({ code: DisconnectCode.NODE_BUSY.code, reconnect: true });
      expect(shed?.parser.retry).toBeGreaterThanOrEqual(1000);
      expect(shed?.parser.lastEventId).toBe('');
      for (const s of streams) await s.kill();
    } finally {
      await busy.close();
    }
  });

  it('disconnects a reader that falls behind with 3005', async () => {
    const slow = await startTestNode({ limits: { outboundQueueBytes: 256 * 1024 } });
    try {
      const { alpha } = slow.apps;
      const channel = `nohist:${uniqueId('sse-slow')}`;
      const url = new URL('/connection/sse', slow.url);
      url.searchParams.set('key', alpha.key);
      url.searchParams.set('token', alpha.token('slow-reader'));
      url.searchParams.set('channels', channel);
      const stream = await SseStream.open(url.toString());
      const me = await stream.connected();
      stream.pause();
      const cut = slow.serverCloses.wait((c) => c.client === me.client, { timeoutMs: 30_000 });
      let gaveUp = false;
      void cut.then(
        () => (gaveUp = true),
        () => undefined,
      );
      const rest = slow.rest(alpha);
      const chunk = 'z'.repeat(60_000);
      for (let i = 0; !gaveUp && i < 1100; i++) await rest.publish(channel, { i, chunk });
      expect((await cut).code).toBe(DisconnectCode.SLOW.code);
      stream.resume();
      await withTimeout(stream.ended, 5000, 'slow stream was not ended');
    } finally {
      await slow.close();
    }
  }, 60_000);
});
