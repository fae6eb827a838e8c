import { DisconnectCode, ErrorCode } from '@herald/protocol';
import { startTestNode, uniqueId, type TestNode } from '@herald/testing';

// The tenant REST API v1 end to end: authentication, the publishing routes, and the read and
// control routes, observed from connected clients.

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode();
});

afterAll(async () => {
  await node?.close();
});

describe('REST authentication', () => {
  it('refuses a missing or wrong secret with 401 and error 101', async () => {
    const { alpha } = node.apps;
    const rest = node.rest(alpha);
    for (const secret of [null, 'wrong-secret-wrong-secret-wrong-secret-00']) {
      const res = await rest.call('POST', '/publish', { body: { channel: 'x', data: 1 }, secret });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ error: { code: ErrorCode.UNAUTHORIZED.code, name: 'unauthorized' } });
    }
  });
});

describe('publishing routes', () => {
  it('broadcasts to many channels, answering each one separately', async () => {
    const { alpha } = node.apps;
    const a = uniqueId('bc');
    const b = `nohist:${uniqueId('bc')}`;
    const client = await node.connect(alpha, 'rest-bc');
    await client.request({ cmd: 'subscribe', channel: a });
    await client.request({ cmd: 'subscribe', channel: b });
    const res = await node.rest(alpha).ok<{ responses: Record<string, unknown>[] }>('POST', '/broadcast', {
      body: { channels: [a, 'nowhere:x', b], data: 'everyone' },
    });
    expect(res.responses).toEqual([
      { channel: a, offset: 1, epoch: expect.any(String) },
      { channel: 'nowhere:x', error: expect.objectContaining({ code: ErrorCode.UNKNOWN_CHANNEL.code }) },
      { channel: b },
    ]);
    expect((await client.nextPubs(a, 1))[0].data).toBe('everyone');
    expect((await client.nextPubs(b, 1))[0].data).toBe('everyone');
  });

  it('runs a batch in order, each command answered on its own', async () => {
    const { alpha } = node.apps;
    const channel = uniqueId('batch');
    const client = await node.connect(alpha, 'rest-batch');
    await client.request({ cmd: 'subscribe', channel });
    const res = await node.rest(alpha).ok<{ replies: Record<string, unknown>[] }>('POST', '/batch', {
      body: {
        commands: [
          { method: 'publish', params: { channel, data: 1 } },
          { method: 'publish', params: { channel: 'bad channel', data: 2 } },
          { method: 'publish', params: { channel, data: 3 } },
          { method: 'fly', params: {} },
        ],
      },
    });
    expect(res.replies).toHaveLength(4);
    expect(res.replies[0]).toEqual({ result: { offset: 1, epoch: expect.any(String) } });
    expect(res.replies[1]).toMatchObject({ error: { code: ErrorCode.UNKNOWN_CHANNEL.code } });
    expect(res.replies[2]).toEqual({ result: { offset: 2, epoch: expect.any(String) } });
    expect(res.replies[3]).toMatchObject({ error: { code: expect.any(Number) } });
    expect((await client.nextPubs(channel, 2)).map((p) => p.data)).toEqual([1, 3]);
  });
});

describe('read routes', () => {
  it('answers history with limit, since and reverse, and 113 for another epoch', async () => {
    const { alpha } = node.apps;
    const rest = node.rest(alpha);
    const channel = uniqueId('rest-hist');
    let epoch = '';
    for (let i = 1; i <= 4; i++) epoch = (await rest.publish(channel, i)).epoch ?? '';
    const path = `/channels/${encodeURIComponent(channel)}/history`;

    await expect(rest.ok('GET', path)).resolves.toEqual({
      offset: 4,
      epoch,
      publications: [1, 2, 3, 4].map((n) => ({ offset: n, data: n })),
    });
    await expect(
      rest.ok('GET', path, { query: { limit: 2, since_offset: 1, since_epoch: epoch } }),
    ).resolves.toMatchObject({
      publications: [
        { offset: 2, data: 2 },
        { offset: 3, data: 3 },
      ],
    });
    const reversed = await rest.ok<{ publications: { offset: number }[] }>('GET', path, {
      query: { reverse: true, limit: 2 },
    });
    expect(reversed.publications.map((p) => p.offset)).toEqual([4, 3]);
    await expect(rest.ok('GET', path, { query: { limit: 0 } })).resolves.toEqual({
      offset: 4,
      epoch,
      publications: [],
    });

    const stale = await rest.call('GET', path, { query: { since_offset: 1, since_epoch: 'gone' } });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ error: { code: ErrorCode.UNRECOVERABLE_POSITION.code } });
    const noHistory = await rest.call('GET', `/channels/${encodeURIComponent(`nohist:${channel}`)}/history`);
    expect(noHistory.status).toBe(404);
    expect(noHistory.body).toMatchObject({ error: { code: ErrorCode.NOT_AVAILABLE.code } });
  });

  it('lists channels with subscribers, filtered by prefix', async () => {
    const { alpha } = node.apps;
    const prefix = uniqueId('list');
    const one = await node.connect(alpha, 'rest-list-1');
    const two = await node.connect(alpha, 'rest-list-2');
    await one.request({ cmd: 'subscribe', channel: `${prefix}-a` });
    await two.request({ cmd: 'subscribe', channel: `${prefix}-a` });
    await two.request({ cmd: 'subscribe', channel: `${prefix}-b` });
    await expect(node.rest(alpha).ok('GET', '/channels', { query: { prefix } })).resolves.toEqual({
      channels: [
        { channel: `${prefix}-a`, subscribers: 2 },
        { channel: `${prefix}-b`, subscribers: 1 },
      ],
    });
    await two.close();
    await node.serverCloses.wait((c) => c.client === two.connection?.client);
    await expect(node.rest(alpha).ok('GET', '/channels', { query: { prefix } })).resolves.toEqual({
      channels: [{ channel: `${prefix}-a`, subscribers: 1 }],
    });
  });

  it('reports the answering node and its connections of the app', async () => {
    const { alpha } = node.apps;
    await node.connect(alpha, 'rest-info');
    const info = await node.rest(alpha).ok<{ node: string; connections: number }>('GET', '/info');
    expect(info.node).toBe(node.config.nodeId);
    expect(info.connections).toBeGreaterThanOrEqual(1);
  });

  it('serves its OpenAPI document', async () => {
    const res = await node
      .rest(node.apps.alpha)
      .call<{ openapi?: string; paths?: Record<string, unknown> }>('GET', '//v1/openapi.json', {
        secret: null,
      });
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\./);
    expect(Object.keys(res.body.paths ?? {})).toContain('/v1/apps/{app}/publish');
  });
});

describe('control routes', () => {
  it('disconnects every connection of a user with 3502', async () => {
    const { alpha } = node.apps;
    const a = await node.connect(alpha, 'rest-kick');
    const b = await node.connect(alpha, 'rest-kick');
    const other = await node.connect(alpha, 'rest-kick-not');
    await node.rest(alpha).ok('POST', '/users/rest-kick/disconnect', { body: {} });
    expect((await a.waitClosed()).code).toBe(DisconnectCode.FORCE_DISCONNECT.code);
    expect((await b.waitClosed()).code).toBe(DisconnectCode.FORCE_DISCONNECT.code);
    await expect(other.request({ cmd: 'subscribe', channel: uniqueId('ok') })).resolves.toBeDefined();
  });

  it('unsubscribes a user from a channel with an unsub push', async () => {
    const { alpha } = node.apps;
    const channel = `chat:${uniqueId('unsub')}`;
    const target = await node.connect(alpha, 'rest-unsub');
    const watcher = await node.connect(alpha, 'rest-unsub-watcher');
    await target.request({ cmd: 'subscribe', channel });
    await watcher.request({ cmd: 'subscribe', channel });
    await node.rest(alpha).ok('POST', '/users/rest-unsub/unsubscribe', { body: { channel } });
    await target.nextPush((p) => p.push === 'unsub' && p.channel === channel);
    await watcher.nextPush(
      (p) => p.push === 'leave' && p.channel === channel && p.info.user === 'rest-unsub',
    );

    await node.rest(alpha).publish(channel, 'after');
    await watcher.nextPubs(channel, 1);
    await node.rest(alpha).publishToUser('rest-unsub', 'sentinel');
    await target.nextPubs('#rest-unsub', 1);
    expect(target.takePushes((p) => p.push === 'pub' && p.channel === channel)).toEqual([]);
  });
});
