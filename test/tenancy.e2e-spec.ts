import { DisconnectCode, ErrorCode, type ClientInfo } from '@herald/protocol';
import { startTestNode, uniqueId, type TestNode } from '@herald/testing';

// Tenancy (DESIGN.md "Auth and tenancy"): two apps with identical channel names, user ids and
// idempotency keys on one node see nothing of each other.

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode();
});

afterAll(async () => {
  await node?.close();
});

describe('tenancy', () => {
  it('keeps publications, presence, history and channel lists apart', async () => {
    const { alpha, beta } = node.apps;
    const channel = `chat:${uniqueId('same')}`;
    const user = 'same-user';
    const inAlpha = await node.connect(alpha, user);
    const inBeta = await node.connect(beta, user);
    const subA = await inAlpha.request({ cmd: 'subscribe', channel });
    const subB = await inBeta.request({ cmd: 'subscribe', channel });
    expect(subA.offset).toBe(0);
    expect(subB.offset).toBe(0);

    const key = uniqueId('same-key');
    const pubA = await node.rest(alpha).publish(channel, 'alpha-only', { idempotencyKey: key });
    await node.rest(alpha).publishToUser(user, 'alpha-user-only');
    const pubB = await node.rest(beta).publish(channel, 'beta-only', { idempotencyKey: key });
    // Independent streams: both apps' first publication in the channel is offset 1.
    expect(pubA.offset).toBe(1);
    expect(pubB.offset).toBe(1);

    expect(await inBeta.nextPubs(channel, 1)).toEqual([{ offset: 1, data: 'beta-only' }]);
    expect(await inAlpha.nextPubs(channel, 1)).toEqual([{ offset: 1, data: 'alpha-only' }]);
    expect((await inAlpha.nextPubs(`#${user}`, 1))[0].data).toBe('alpha-user-only');
    // beta's client got its own publication, published after alpha's: alpha's would be here by now.
    expect(inBeta.takePushes((p) => p.push === 'pub')).toEqual([]);
    // No join push crossed over either: each side saw only its own subscription.
    const alphaClient = inAlpha.connection?.client;
    expect(alphaClient).toEqual(expect.any(String));
    expect(inBeta.takePushes((p) => p.push === 'join' && p.info.client === alphaClient)).toEqual([]);

    // Presence.
    const membersA = await node
      .rest(alpha)
      .ok<{ members: ClientInfo[] }>('GET', `/channels/${encodeURIComponent(channel)}/presence`);
    const membersB = (await inBeta.request({ cmd: 'presence', channel })).members;
    expect(membersA.members).toHaveLength(1);
    expect(membersB).toHaveLength(1);
    expect(membersA.members[0].client).not.toBe(membersB[0].client);

    // History.
    const historyB = await node.rest(beta).ok('GET', `/channels/${encodeURIComponent(channel)}/history`);
    expect(historyB).toMatchObject({ publications: [{ offset: 1, data: 'beta-only' }], offset: 1 });
    expect((await inAlpha.request({ cmd: 'history', channel })).publications).toEqual([
      { offset: 1, data: 'alpha-only' },
    ]);

    // Channel lists.
    const alphaOnly = `nohist:${uniqueId('alpha-only')}`;
    await inAlpha.request({ cmd: 'subscribe', channel: alphaOnly });
    const listA = await node
      .rest(alpha)
      .ok<{ channels: { channel: string; subscribers: number }[] }>('GET', '/channels');
    const listB = await node
      .rest(beta)
      .ok<{ channels: { channel: string; subscribers: number }[] }>('GET', '/channels');
    expect(listA.channels).toContainEqual({ channel: alphaOnly, subscribers: 1 });
    expect(listA.channels).toContainEqual({ channel, subscribers: 1 });
    expect(listB.channels.map((c) => c.channel)).not.toContain(alphaOnly);
    expect(listB.channels).toContainEqual({ channel, subscribers: 1 });
  });

  it("disconnects a user in one app only, leaving the other app's user of the same id connected", async () => {
    const { alpha, beta } = node.apps;
    const user = 'same-kick';
    const inAlpha = await node.connect(alpha, user);
    const inBeta = await node.connect(beta, user);
    await expect(node.rest(alpha).ok('POST', `/users/${user}/disconnect`, { body: {} })).resolves.toEqual({});
    expect((await inAlpha.waitClosed()).code).toBe(DisconnectCode.FORCE_DISCONNECT.code);

    // beta's connection still answers, and still receives.
    const channel = uniqueId('still-here');
    await inBeta.request({ cmd: 'subscribe', channel });
    await node.rest(beta).publish(channel, 'alive');
    expect((await inBeta.nextPubs(channel, 1))[0].data).toBe('alive');
    expect(inBeta.isClosed).toBe(false);
  });

  it('unsubscribes a user in one app only', async () => {
    const { alpha, beta } = node.apps;
    const user = 'same-unsub';
    const channel = uniqueId('unsub');
    const inAlpha = await node.connect(alpha, user);
    const inBeta = await node.connect(beta, user);
    await inAlpha.request({ cmd: 'subscribe', channel });
    await inBeta.request({ cmd: 'subscribe', channel });
    await node.rest(alpha).ok('POST', `/users/${user}/unsubscribe`, { body: { channel } });
    const unsub = await inAlpha.nextPush((p) => p.push === 'unsub' && p.channel === channel);
    expect(unsub).toMatchObject({ push: 'unsub', channel, code: expect.any(Number) });

    await node.rest(beta).publish(channel, 'beta-still-subscribed');
    expect((await inBeta.nextPubs(channel, 1))[0].data).toBe('beta-still-subscribed');
    expect(inBeta.takePushes((p) => p.push === 'unsub')).toEqual([]);
  });

  it("refuses one app's credentials in the other app", async () => {
    const { alpha, beta } = node.apps;
    // alpha's token on beta's key: signed for another audience.
    const client = await node.open(beta);
    await expect(client.request({ cmd: 'connect', token: alpha.token('cross') })).rejects.toMatchObject({
      code: ErrorCode.TOKEN_WRONG_APP.code,
    });
    expect((await client.waitClosed()).code).toBe(DisconnectCode.INVALID_TOKEN.code);

    // alpha's secret against beta's REST API.
    const res = await node.rest(beta).call('POST', '/publish', {
      body: { channel: 'x', data: 1 },
      secret: alpha.secret,
    });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: { code: ErrorCode.UNAUTHORIZED.code } });
    // beta's REST API does not accept an unknown app id either.
    const unknown = await node.rest(beta).call('GET', '//v1/apps/nope/info');
    expect([401, 404]).toContain(unknown.status);
  });
});
