import { DisconnectCode, ErrorCode } from '@herald/protocol';
import { ReplyError, startTestNode, uniqueId, type TestNode } from '@herald/testing';

// Every input has a bound and a clear answer (DESIGN.md "Limits and failure behaviour",
// docs/errors.md "Which code for which input"), and no bad input stops the node serving others.

const MAX_FRAME = 4096;
const MAX_BODY = 8192;
let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({
    limits: {
      maxChannelsPerConnection: 3,
      clientPublishesPerSecond: 2,
      maxPresenceMembers: 2,
      maxConnectionsPerUser: 2,
      maxFrameBytes: MAX_FRAME,
      maxBodyBytes: MAX_BODY,
    },
    // beta's REST publish rate is tiny: 1/s, burst 2.
    apps: { beta: { limits: { publishesPerSecond: 1 } } },
    node: { ws: { connectTimeoutSeconds: 1, maxPayloadBytes: 65536 } },
  });
});

afterAll(async () => {
  await node?.close();
});

/** A fresh client connects, subscribes, and receives a REST publish: the node is fine. */
async function expectServing(target: TestNode = node) {
  const { alpha } = target.apps;
  const client = await target.connect(alpha, uniqueId('healthy'));
  const channel = uniqueId('healthy');
  await client.request({ cmd: 'subscribe', channel });
  await target.rest(alpha).publish(channel, 'fine');
  expect((await client.nextPubs(channel, 1))[0].data).toBe('fine');
  await client.close();
}

describe('per-connection and per-app limits', () => {
  it('refuses subscriptions past maxChannelsPerConnection (the personal channel counts) with 300', async () => {
    const client = await node.connect(node.apps.alpha, uniqueId('chans'));
    expect(Object.keys(client.connection?.subs ?? {})).toHaveLength(1); // the personal channel
    await client.request({ cmd: 'subscribe', channel: uniqueId('c1') });
    await client.request({ cmd: 'subscribe', channel: uniqueId('c2') });
    await expect(client.request({ cmd: 'subscribe', channel: uniqueId('c3') })).rejects.toMatchObject({
      code: ErrorCode.LIMIT_CHANNELS.code,
    });
    // After an unsubscribe there is room again.
    await client.request({ cmd: 'unsubscribe', channel: `#${client.connection?.user}` });
    await expect(client.request({ cmd: 'subscribe', channel: uniqueId('c4') })).resolves.toBeDefined();
    await expectServing();
  });

  it('refuses client publishes over clientPublishesPerSecond with a temporary 301', async () => {
    const channel = `chat:${uniqueId('fast')}`;
    const client = await node.connect(node.apps.alpha, uniqueId('fast'));
    await client.request({ cmd: 'subscribe', channel });
    // Rate 2/s, burst 4: five publishes in one message, the fifth is over.
    const outcomes = await client.requestMany(
      Array.from({ length: 5 }, (_, i) => ({ cmd: 'publish' as const, channel, data: i })),
    );
    expect(outcomes.slice(0, 4).every((o) => !(o instanceof ReplyError))).toBe(true);
    expect(outcomes[4]).toBeInstanceOf(ReplyError);
    expect((outcomes[4] as ReplyError).body).toMatchObject({
      code: ErrorCode.RATE_LIMITED.code,
      temporary: true,
    });
    expect(client.isClosed).toBe(false);
    await expectServing();
  });

  it('refuses a subscriber past maxPresenceMembers with 302', async () => {
    const channel = `chat:${uniqueId('full')}`;
    const { alpha } = node.apps;
    for (let i = 0; i < 2; i++) {
      const member = await node.connect(alpha, uniqueId('member'));
      await member.request({ cmd: 'subscribe', channel });
    }
    const third = await node.connect(alpha, uniqueId('member'));
    await expect(third.request({ cmd: 'subscribe', channel })).rejects.toMatchObject({
      code: ErrorCode.LIMIT_PRESENCE_MEMBERS.code,
    });
    expect(third.isClosed).toBe(false);
    await expectServing();
  });

  it('refuses a connection past maxConnectionsPerUser with 301, then closes it with 3008', async () => {
    const { alpha } = node.apps;
    const user = uniqueId('many');
    await node.connect(alpha, user);
    await node.connect(alpha, user);
    const third = await node.open(alpha);
    await expect(third.request({ cmd: 'connect', token: alpha.token(user) })).rejects.toMatchObject({
      code: ErrorCode.RATE_LIMITED.code,
    });
    expect((await third.waitClosed()).code).toBe(DisconnectCode.CONNECTION_LIMIT.code);
    await expectServing();
  });
});

describe('bad input on the WebSocket', () => {
  it('closes a frame over the app maxFrameBytes with 3506', async () => {
    const client = await node.connect(node.apps.alpha, uniqueId('big'));
    client.sendRaw(
      JSON.stringify({ id: 99, cmd: 'publish', channel: 'chat:x', data: 'x'.repeat(MAX_FRAME) }),
    );
    expect((await client.waitClosed()).code).toBe(DisconnectCode.MESSAGE_TOO_LARGE.code);
    await expectServing();
  });

  it('closes a frame over the node-wide ws.maxPayloadBytes with 1009', async () => {
    const client = await node.connect(node.apps.alpha, uniqueId('huge'));
    client.sendRaw('x'.repeat(70_000));
    expect((await client.waitClosed()).code).toBe(1009);
    await expectServing();
  });

  it('answers malformed frames with a usable id with 107 and keeps the connection', async () => {
    const client = await node.connect(node.apps.alpha, uniqueId('malformed'));
    const id = client.reserveId();
    const reply = client.reply(id);
    client.sendRaw(JSON.stringify({ id, cmd: 'subscribe' })); // no channel
    await expect(reply).resolves.toMatchObject({ code: ErrorCode.BAD_REQUEST.code });
    await expect(client.request({ cmd: 'subscribe', channel: uniqueId('after') })).resolves.toBeDefined();
  });

  it('closes a frame that is not JSON (no usable id) with 3501', async () => {
    const client = await node.connect(node.apps.alpha, uniqueId('notjson'));
    client.sendRaw('{"id":1, this is not json');
    expect((await client.waitClosed()).code).toBe(DisconnectCode.BAD_REQUEST.code);
    await expectServing();
  });

  it('closes a frame that is not an object with 3501', async () => {
    const client = await node.connect(node.apps.alpha, uniqueId('array'));
    client.sendRaw('[1,2,3]');
    expect((await client.waitClosed()).code).toBe(DisconnectCode.BAD_REQUEST.code);
  });

  it('answers an unknown command with 104 and keeps the connection', async () => {
    const client = await node.connect(node.apps.alpha, uniqueId('unknown'));
    const id = client.reserveId();
    const reply = client.reply(id);
    client.sendRaw(JSON.stringify({ id, cmd: 'teleport' }));
    await expect(reply).resolves.toMatchObject({ code: ErrorCode.METHOD_NOT_FOUND.code });
    await expect(client.request({ cmd: 'subscribe', channel: uniqueId('after') })).resolves.toBeDefined();
  });

  it('closes a binary frame with 3507 (unsupported encoding)', async () => {
    const client = await node.connect(node.apps.alpha, uniqueId('binary'));
    client.sendRaw(Buffer.from('{"id":5,"cmd":"presence","channel":"chat:x"}'), { binary: true });
    expect((await client.waitClosed()).code).toBe(DisconnectCode.UNSUPPORTED_PROTOCOL.code);
    await expectServing();
  });

  it('closes a text frame that is not valid UTF-8 with 1007', async () => {
    const client = await node.connect(node.apps.alpha, uniqueId('utf8'));
    client.sendRaw(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
    expect((await client.waitClosed()).code).toBe(1007);
    await expectServing();
  });

  it('answers commands before connect with 110, then accepts connect', async () => {
    const { alpha } = node.apps;
    const client = await node.open(alpha);
    await expect(client.request({ cmd: 'subscribe', channel: uniqueId('early') })).rejects.toMatchObject({
      code: ErrorCode.NOT_CONNECTED.code,
    });
    await expect(client.request({ cmd: 'refresh', token: 'x' })).rejects.toMatchObject({
      code: ErrorCode.NOT_CONNECTED.code,
    });
    await expect(
      client.request({ cmd: 'connect', token: alpha.token(uniqueId('late')) }),
    ).resolves.toBeDefined();
  });

  it('refuses connect without credentials (exactly one of token and ticket)', async () => {
    const client = await node.open(node.apps.alpha);
    await expect(client.request({ cmd: 'connect' })).rejects.toMatchObject({
      code: ErrorCode.UNAUTHORIZED.code,
    });
    expect((await client.waitClosed()).code).toBe(DisconnectCode.INVALID_TOKEN.code);
  });

  it('closes a connection that sends no connect within ws.connectTimeoutSeconds with 3010', async () => {
    const client = await node.open(node.apps.alpha);
    expect((await client.waitClosed({ timeoutMs: 4000 })).code).toBe(DisconnectCode.CONNECT_TIMEOUT.code);
    await expectServing();
  });
});

describe('REST limits', () => {
  it('answers a body over maxBodyBytes with 413 and error 114', async () => {
    const { alpha } = node.apps;
    const res = await node.rest(alpha).call('POST', '/publish', {
      rawBody: JSON.stringify({ channel: 'big', data: 'x'.repeat(MAX_BODY + 100) }),
    });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({
      error: { code: ErrorCode.PAYLOAD_TOO_LARGE.code, name: 'payload_too_large' },
    });
    await expectServing();
  });

  it('answers a publish whose data is over maxFrameBytes with 413 and error 114', async () => {
    const { alpha } = node.apps;
    const channel = uniqueId('fat');
    const client = await node.connect(alpha, uniqueId('fat'));
    await client.request({ cmd: 'subscribe', channel });
    // The body is under maxBodyBytes, its data over maxFrameBytes: no client could receive it.
    const res = await node
      .rest(alpha)
      .call('POST', '/publish', { body: { channel, data: 'y'.repeat(MAX_FRAME + 10) } });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error: { code: ErrorCode.PAYLOAD_TOO_LARGE.code } });
    await node.rest(alpha).publish(channel, 'small');
    expect(await client.nextPubs(channel, 1)).toEqual([{ offset: 1, data: 'small' }]);
  });

  it('answers publishes over publishesPerSecond with 429, error 301 and Retry-After', async () => {
    const { beta } = node.apps;
    const rest = node.rest(beta);
    const channel = uniqueId('rate');
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof rest.call>> | undefined;
    // Rate 1/s, burst 2: within a handful of back-to-back publishes one is refused.
    for (let i = 0; i < 5 && !limited; i++) {
      const res = await rest.call('POST', '/publish', { body: { channel, data: i } });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(limited).toBeDefined();
    expect(limited?.body).toMatchObject({
      error: { code: ErrorCode.RATE_LIMITED.code, name: 'rate_limited' },
    });
    const retryAfter = Number(limited?.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    // Other apps are not limited by beta's rate.
    await expectServing();
  });

  it('refuses malformed REST bodies with 400 and error 107', async () => {
    const { alpha } = node.apps;
    const rest = node.rest(alpha);
    const notJson = await rest.call('POST', '/publish', { rawBody: '{"channel": "x", ' });
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatchObject({ error: { code: ErrorCode.BAD_REQUEST.code } });
    const typo = await rest.call('POST', '/publish', { body: { chanel: 'x', data: 1 } });
    expect(typo.status).toBe(400);
    expect(typo.body).toMatchObject({ error: { code: ErrorCode.BAD_REQUEST.code } });
    const badChannel = await rest.call('POST', '/publish', { body: { channel: 'nowhere:x', data: 1 } });
    expect(badChannel.status).toBe(404);
    expect(badChannel.body).toMatchObject({ error: { code: ErrorCode.UNKNOWN_CHANNEL.code } });
  });
});

describe('node admission', () => {
  it('sheds new connections over newConnectionsPerSecond with 3009 and keeps serving', async () => {
    // A node of its own: its admission bucket (1/s, burst 2) is what this test spends.
    const busy = await startTestNode({ node: { newConnectionsPerSecond: 1 } });
    try {
      const { alpha } = busy.apps;
      const first = await busy.connect(alpha, 'adm-1');
      await busy.connect(alpha, 'adm-2');
      const shed = await busy.open(alpha);
      expect((await shed.waitClosed()).code).toBe(DisconnectCode.NODE_BUSY.code);
      // Admitted sessions and the REST API are unaffected.
      const channel = uniqueId('adm');
      await first.request({ cmd: 'subscribe', channel });
      await busy.rest(alpha).publish(channel, 'still');
      expect((await first.nextPubs(channel, 1))[0].data).toBe('still');
    } finally {
      await busy.close();
    }
  });
});
