import { DisconnectCode, ErrorCode, type ConnectPush, type ServerFrame } from '@herald/protocol';
import {
  isPub,
  poll,
  sessionCommands,
  startTestNode,
  uniqueId,
  withTimeout,
  type PollBody,
  type PubFrame,
  type TestApp,
  type TestNode,
} from '@herald/testing';

// Long-poll and short-poll (docs/protocol.md "Transports"): a session that lives between polls,
// cursor-based and idempotent; commands go over POST to the session endpoint.

let node: TestNode;

beforeAll(async () => {
  // A 1 s hold so an empty long poll ends within the test; idle sessions close after 1 s.
  node = await startTestNode({ node: { poll: { holdSeconds: 1, sessionIdleSeconds: 1 } } });
});

afterAll(async () => {
  await node?.close();
});

const pubsOf = (body: PollBody, channel: string) =>
  body.events.filter(isPub(channel)).map((f) => (f as PubFrame).pub);
const connectIn = (body: PollBody) =>
  body.events.find((f): f is ConnectPush => 'push' in f && f.push === 'connect');

async function open(app: TestApp, user: string, query: Record<string, string> = {}) {
  const res = await poll(node.url, { key: app.key, token: app.token(user), ...query });
  expect(res.status).toBe(200);
  const connect = connectIn(res.body);
  if (!connect) throw new Error(`no connect event: ${JSON.stringify(res.body)}`);
  return { connect, cursor: res.body.cursor ?? '', first: res.body };
}

describe('long-poll', () => {
  it('opens a session, then returns events after the cursor; the same cursor twice returns the same events', async () => {
    const { alpha } = node.apps;
    const channel = uniqueId('lp');
    const { connect, cursor } = await open(alpha, 'lp-1', { channels: channel });
    expect(connect.subs[channel]).toEqual({ recoverable: true, offset: 0, epoch: expect.any(String) });
    const rest = node.rest(alpha);
    await rest.publish(channel, 'one');
    await rest.publish(channel, 'two');
    const auth = { authorization: `Bearer ${connect.session}` };
    const a = await poll(node.url, { key: alpha.key, cursor }, auth);
    const b = await poll(node.url, { key: alpha.key, cursor }, auth);
    expect(pubsOf(a.body, channel)).toEqual([
      { offset: 1, data: 'one' },
      { offset: 2, data: 'two' },
    ]);
    expect(b.body).toEqual(a.body);
    // The next cursor acknowledges them: nothing more until something new.
    await rest.publish(channel, 'three');
    const c = await poll(node.url, { key: alpha.key, cursor: a.body.cursor }, auth);
    expect(c.body.events).toEqual([{ push: 'pub', channel, pub: { offset: 3, data: 'three' } }]);
  });

  it('answers concurrent polls with the same cursor with the same events as soon as they arrive', async () => {
    const { alpha } = node.apps;
    const channel = uniqueId('lp-conc');
    const { connect, cursor } = await open(alpha, 'lp-2', { channels: channel });
    const auth = { authorization: `Bearer ${connect.session}` };
    // Acknowledge the connect event first so both polls wait.
    const settled = await poll(node.url, { key: alpha.key, cursor, wait: '0' }, auth);
    expect(settled.body.events).toEqual([]);
    const p1 = poll(node.url, { key: alpha.key, cursor }, auth);
    const p2 = poll(node.url, { key: alpha.key, cursor }, auth);
    await node.rest(alpha).publish(channel, 'x');
    const [r1, r2] = await Promise.all([p1, p2]);
    expect(r1.body.events).toEqual([{ push: 'pub', channel, pub: { offset: 1, data: 'x' } }]);
    expect(r2.body).toEqual(r1.body);
  });

  it('batches events published together into one response', async () => {
    const { alpha } = node.apps;
    const channel = uniqueId('lp-batch');
    const { connect, cursor } = await open(alpha, 'lp-3', { channels: channel });
    const auth = { authorization: `Bearer ${connect.session}` };
    const rest = node.rest(alpha);
    await Promise.all([1, 2, 3, 4, 5].map((i) => rest.publish(channel, i)));
    const r = await poll(node.url, { key: alpha.key, cursor }, auth);
    expect(pubsOf(r.body, channel).map((p) => p.offset)).toEqual([1, 2, 3, 4, 5]);
  });

  it('holds a poll with nothing to return for the hold time, then answers it empty with the same cursor', async () => {
    const { alpha } = node.apps;
    const { connect, cursor } = await open(alpha, 'lp-4');
    const auth = { authorization: `Bearer ${connect.session}` };
    const settled = await poll(node.url, { key: alpha.key, cursor, wait: '0' }, auth);
    const start = Date.now();
    const r = await poll(node.url, { key: alpha.key, cursor: settled.body.cursor }, auth);
    expect(Date.now() - start).toBeGreaterThanOrEqual(900);
    expect(r.body).toEqual({ cursor: settled.body.cursor, events: [] });
  });

  it('short-polls with wait=0: answers at once', async () => {
    const { alpha } = node.apps;
    const channel = uniqueId('sp');
    const { connect, cursor } = await open(alpha, 'sp-1', { channels: channel, wait: '0' });
    const auth = { authorization: `Bearer ${connect.session}` };
    const empty = await poll(node.url, { key: alpha.key, cursor, wait: '0' }, auth);
    expect(empty.body.events).toEqual([]);
    await node.rest(alpha).publish(channel, 'now');
    const r = await poll(node.url, { key: alpha.key, cursor: empty.body.cursor, wait: '0' }, auth);
    expect(pubsOf(r.body, channel)).toEqual([{ offset: 1, data: 'now' }]);
  });

  it('keeps the session of a client that stops polling for a while, with what arrived meanwhile', async () => {
    const { alpha } = node.apps;
    const channel = uniqueId('lp-away');
    const { connect, cursor } = await open(alpha, 'lp-5', { channels: channel });
    await node.rest(alpha).publish(channel, 'while-away');
    // Polls with the connection token work as well as with the session credential.
    const r = await poll(node.url, { key: alpha.key, cursor, token: alpha.token('lp-5') });
    expect(connectIn(r.body)).toBeUndefined();
    expect(pubsOf(r.body, channel)).toEqual([{ offset: 1, data: 'while-away' }]);
    expect(r.body.events).toHaveLength(1);
    expect(connect.subs[channel]).toMatchObject({ offset: 0 });
  });

  it('closes a session nobody polls (presence removed) and recovers a returning client from its cursor', async () => {
    const { alpha } = node.apps;
    const rest = node.rest(alpha);
    const channel = `chat:${uniqueId('lp-gone')}`;
    const { connect, cursor } = await open(alpha, 'lp-6', { channels: channel });
    const auth = { authorization: `Bearer ${connect.session}` };
    await rest.publish(channel, 'seen');
    const seen = await poll(node.url, { key: alpha.key, cursor }, auth);
    expect(pubsOf(seen.body, channel)).toHaveLength(1);
    const presence = await rest.ok<{ members: unknown[] }>(
      'GET',
      `/channels/${encodeURIComponent(channel)}/presence`,
    );
    expect(presence.members).toHaveLength(1);

    // The client vanishes: after poll.sessionIdleSeconds the session is closed and leaves presence.
    await node.serverCloses.wait((c) => c.client === connect.client, { timeoutMs: 5000 });
    const after = await rest.ok<{ members: unknown[] }>(
      'GET',
      `/channels/${encodeURIComponent(channel)}/presence`,
    );
    expect(after.members).toEqual([]);

    await rest.publish(channel, 'missed-1');
    await rest.publish(channel, 'missed-2');
    // It comes back with its cursor and its token: a new session, recovered from the cursor.
    const back = await poll(node.url, {
      key: alpha.key,
      cursor: seen.body.cursor,
      token: alpha.token('lp-6'),
    });
    const again = connectIn(back.body);
    expect(again?.client).not.toBe(connect.client);
    expect(again?.subs[channel]).toMatchObject({ recovered: true, offset: 3 });
    expect(pubsOf(back.body, channel)).toEqual([
      { offset: 2, data: 'missed-1' },
      { offset: 3, data: 'missed-2' },
    ]);
    // With only the old session credential, it is told to reconnect instead.
    const stale = await poll(node.url, { key: alpha.key, cursor: seen.body.cursor }, auth);
    expect(stale.body.events).toEqual([
      expect.objectContaining({
        push: 'disconnect',
        code: DisconnectCode.INSUFFICIENT_STATE.code,
        reconnect: true,
      }),
    ]);
  });

  it('tells a polling client why its session was closed by the server', async () => {
    const { alpha } = node.apps;
    const { connect, cursor } = await open(alpha, 'lp-kicked');
    const auth = { authorization: `Bearer ${connect.session}` };
    const settled = await poll(node.url, { key: alpha.key, cursor, wait: '0' }, auth);
    const waiting = poll(node.url, { key: alpha.key, cursor: settled.body.cursor }, auth);
    await node.rest(alpha).ok('POST', `/users/lp-kicked/disconnect`);
    const r = await waiting;
    expect(r.body.events).toEqual([
      expect.objectContaining({
        push: 'disconnect',
        code: DisconnectCode.FORCE_DISCONNECT.code,
        reconnect: false,
      }),
    ]);
  });

  it.each([
    ['garbage', () => 'garbage'],
    ['oversized', () => `1.${'A'.repeat(9000)}`],
    ['another app’s', () => 'BETA'],
  ])('treats a %s cursor as an unknown position: a new session with recovered false', async (_, make) => {
    const { alpha, beta } = node.apps;
    const channel = uniqueId('lp-unknown');
    await node.rest(alpha).publish(channel, 'alpha-1');
    await node.rest(beta).publish(channel, 'beta-1');
    let cursor = make();
    if (cursor === 'BETA') cursor = (await open(beta, 'lp-7', { channels: channel, wait: '0' })).cursor;
    const r = await poll(node.url, { key: alpha.key, cursor, channels: channel, token: alpha.token('lp-7') });
    const connect = connectIn(r.body);
    expect(connect?.subs[channel]).toEqual({
      recoverable: true,
      recovered: false,
      offset: 1,
      epoch: expect.any(String),
    });
    expect(r.body.events.filter((f: ServerFrame) => 'push' in f && f.push === 'pub')).toEqual([]);
  });

  it('refuses a malformed wait and answers an unknown key with a terminal disconnect', async () => {
    const { alpha } = node.apps;
    const bad = await fetch(new URL(`/connection/poll?key=${alpha.key}&wait=soon`, node.url));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: number } }).error.code).toBe(ErrorCode.BAD_REQUEST.code);
    const unknown = await poll(node.url, { key: 'no-such-key-1', token: alpha.token('x') });
    expect(unknown.body.events).toEqual([
      expect.objectContaining({
        push: 'disconnect',
        code: DisconnectCode.UNKNOWN_APP.code,
        reconnect: false,
      }),
    ]);
  });
});

describe('the session endpoint with long-poll', () => {
  it('does a subscribe, publish and presence round trip entirely over long-poll and POST', async () => {
    const { alpha } = node.apps;
    const channel = `chat:${uniqueId('lp-rt')}`;
    const { connect, cursor } = await open(alpha, 'lp-rt');
    const auth = { authorization: `Bearer ${connect.session}` };
    const replies = await sessionCommands(node.url, connect.client, connect.session, [
      { id: 1, cmd: 'subscribe', channel },
      { id: 2, cmd: 'publish', channel, data: { text: 'hello' } },
      { id: 3, cmd: 'presence', channel },
      { id: 4, cmd: 'history', channel, limit: -1 },
    ]);
    expect(replies.frames).toEqual([
      { id: 1, result: { recoverable: true, offset: 0, epoch: expect.any(String) } },
      { id: 2, result: { offset: 1, epoch: expect.any(String) } },
      { id: 3, result: { members: [{ user: 'lp-rt', client: connect.client }] } },
      {
        id: 4,
        result: {
          publications: [
            { offset: 1, data: { text: 'hello' }, info: { user: 'lp-rt', client: connect.client } },
          ],
          offset: 1,
          epoch: expect.any(String),
        },
      },
    ]);
    // The join and the publication arrive through the poll, in order, after the connect event.
    const events: ServerFrame[] = [];
    let next = cursor;
    while (!events.some(isPub(channel))) {
      const r = await withTimeout(poll(node.url, { key: alpha.key, cursor: next }, auth), 5000, 'poll');
      events.push(...r.body.events);
      next = r.body.cursor ?? next;
    }
    const info = { user: 'lp-rt', client: connect.client };
    expect(events.filter((f) => !('push' in f && f.push === 'connect'))).toEqual([
      { push: 'join', channel, info },
      { push: 'pub', channel, pub: { offset: 1, data: { text: 'hello' }, info } },
    ]);
  });
});
