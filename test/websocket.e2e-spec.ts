import { ErrorCode, type Push } from '@herald/protocol';
import { ReplyError, startTestNode, uniqueId, type TestNode } from '@herald/testing';

// Connecting, subscribing and receiving over the native WebSocket protocol: the paths every
// client takes, end to end through the REST API.

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode();
});

afterAll(async () => {
  await node?.close();
});

const pubOn = (channel: string) => (p: Push) => p.push === 'pub' && p.channel === channel;

describe('WebSocket basics', () => {
  it('connects, subscribes, and receives what the REST API publishes, in offset order', async () => {
    const { alpha } = node.apps;
    const client = await node.open(alpha);
    const connected = await client.request({ cmd: 'connect', token: alpha.token('ws-u1') });
    expect(connected.user).toBe('ws-u1');
    expect(connected.client).toEqual(expect.any(String));
    expect(connected.ping).toBeGreaterThan(0);
    expect(connected.pong_timeout).toBeGreaterThan(0);
    expect(Object.keys(connected.subs)).toContain('#ws-u1');

    const channel = uniqueId('news');
    const sub = await client.request({ cmd: 'subscribe', channel });
    expect(sub).toEqual({ recoverable: true, offset: 0, epoch: expect.any(String) });

    const rest = node.rest(alpha);
    const first = await rest.publish(channel, { n: 1 });
    const second = await rest.publish(channel, { n: 2 });
    expect(first).toEqual({ offset: 1, epoch: sub.epoch });
    expect(second).toEqual({ offset: 2, epoch: sub.epoch });

    const pubs = await client.nextPubs(channel, 2);
    expect(pubs).toEqual([
      { offset: 1, data: { n: 1 } },
      { offset: 2, data: { n: 2 } },
    ]);
    expect(client.violations).toEqual([]);
  });

  it('runs several frames sent in one WebSocket message, in order, with one reply each', async () => {
    const { alpha } = node.apps;
    const client = await node.open(alpha);
    const a = uniqueId('multi');
    const b = `nohist:${uniqueId('multi')}`;
    const outcomes = await client.requestMany([
      { cmd: 'connect', token: alpha.token('ws-multi') },
      { cmd: 'subscribe', channel: a },
      { cmd: 'subscribe', channel: b },
      { cmd: 'subscribe', channel: a },
    ]);
    expect(outcomes[0]).toMatchObject({ user: 'ws-multi' });
    expect(outcomes[1]).toMatchObject({ recoverable: true, offset: 0 });
    expect(outcomes[2]).toEqual({ recoverable: false });
    expect(outcomes[3]).toBeInstanceOf(ReplyError);
    expect((outcomes[3] as ReplyError).code).toBe(ErrorCode.ALREADY_SUBSCRIBED.code);

    const rest = node.rest(alpha);
    await rest.publish(b, 'to-b');
    await rest.publish(a, 'to-a');
    expect((await client.nextPush(pubOn(b))).push).toBe('pub');
    expect((await client.nextPush(pubOn(a))).push).toBe('pub');
  });

  it('subscribes server-side to the token channels claim and the personal channel', async () => {
    const { alpha } = node.apps;
    const claimed = uniqueId('claimed');
    const claimedChat = `chat:${uniqueId('claimed')}`;
    const client = await node.open(alpha);
    const connected = await client.request({
      cmd: 'connect',
      token: alpha.token('ws-claims', { channels: [claimed, claimedChat] }),
    });
    expect(Object.keys(connected.subs).sort()).toEqual(['#ws-claims', claimed, claimedChat].sort());
    expect(connected.subs[claimed]).toEqual({ recoverable: true, offset: 0, epoch: expect.any(String) });

    const rest = node.rest(alpha);
    await rest.publish(claimed, 'server-side');
    expect(await client.nextPubs(claimed, 1)).toEqual([{ offset: 1, data: 'server-side' }]);
    await rest.publishToUser('ws-claims', { hello: 'you' });
    const personal = await client.nextPubs('#ws-claims', 1);
    expect(personal[0].data).toEqual({ hello: 'you' });

    // A server-side subscription is a subscription like any other: subscribing again is refused.
    await expect(client.request({ cmd: 'subscribe', channel: claimed })).rejects.toMatchObject({
      code: ErrorCode.ALREADY_SUBSCRIBED.code,
    });
  });

  it("delivers a user publish to every connection of that user and to nobody else's", async () => {
    const { alpha } = node.apps;
    const first = await node.connect(alpha, 'ws-target');
    const second = await node.connect(alpha, 'ws-target');
    const other = await node.connect(alpha, 'ws-bystander');

    const rest = node.rest(alpha);
    await rest.publishToUser('ws-target', 'for-target');
    await rest.publishToUser('ws-bystander', 'for-bystander');

    expect((await first.nextPubs('#ws-target', 1))[0].data).toBe('for-target');
    expect((await second.nextPubs('#ws-target', 1))[0].data).toBe('for-target');
    // The bystander's own message comes after the target's (published later), so once it is here,
    // anything misrouted to the bystander would be here too.
    expect((await other.nextPubs('#ws-bystander', 1))[0].data).toBe('for-bystander');
    expect(other.takePushes((p) => p.push === 'pub')).toEqual([]);
    expect(first.takePushes((p) => p.push === 'pub')).toEqual([]);
  });

  it('carries client publishes with the publisher info to other subscribers', async () => {
    const { alpha } = node.apps;
    const channel = `chat:${uniqueId('room')}`;
    const sender = await node.connect(alpha, 'ws-sender');
    const receiver = await node.connect(alpha, 'ws-receiver');
    await receiver.request({ cmd: 'subscribe', channel });
    const senderSub = await sender.request({ cmd: 'subscribe', channel });
    expect(senderSub.recoverable).toBe(true);

    const result = await sender.request({ cmd: 'publish', channel, data: { text: 'hi' } });
    expect(result).toEqual({ offset: 1, epoch: senderSub.epoch });
    const [pub] = await receiver.nextPubs(channel, 1);
    expect(pub).toEqual({
      offset: 1,
      data: { text: 'hi' },
      info: { user: 'ws-sender', client: expect.any(String) },
    });

    // Clients may not publish where the namespace does not allow it, nor where they are not subscribed.
    const plain = uniqueId('plain');
    await sender.request({ cmd: 'subscribe', channel: plain });
    await expect(sender.request({ cmd: 'publish', channel: plain, data: 1 })).rejects.toMatchObject({
      code: ErrorCode.PERMISSION_DENIED.code,
    });
    await expect(
      sender.request({ cmd: 'publish', channel: `chat:${uniqueId('elsewhere')}`, data: 1 }),
    ).rejects.toMatchObject({ code: ErrorCode.NOT_SUBSCRIBED.code });
  });

  it('stops delivering after unsubscribe', async () => {
    const { alpha } = node.apps;
    const client = await node.connect(alpha, 'ws-unsub');
    const gone = uniqueId('gone');
    const kept = uniqueId('kept');
    await client.request({ cmd: 'subscribe', channel: gone });
    await client.request({ cmd: 'subscribe', channel: kept });
    await expect(client.request({ cmd: 'unsubscribe', channel: gone })).resolves.toEqual({});

    const rest = node.rest(alpha);
    await rest.publish(gone, 'after-unsubscribe');
    await rest.publish(kept, 'sentinel');
    await client.nextPubs(kept, 1);
    expect(client.takePushes(pubOn(gone))).toEqual([]);
    await expect(client.request({ cmd: 'unsubscribe', channel: gone })).resolves.toEqual({});
  });

  it('answers history for a subscribed channel, and refuses it where history is off', async () => {
    const { alpha } = node.apps;
    const client = await node.connect(alpha, 'ws-history');
    const channel = uniqueId('hist');
    const sub = await client.request({ cmd: 'subscribe', channel });
    const rest = node.rest(alpha);
    for (let i = 1; i <= 3; i++) await rest.publish(channel, i);

    const all = await client.request({ cmd: 'history', channel });
    expect(all).toEqual({
      offset: 3,
      epoch: sub.epoch,
      publications: [
        { offset: 1, data: 1 },
        { offset: 2, data: 2 },
        { offset: 3, data: 3 },
      ],
    });
    const since = await client.request({
      cmd: 'history',
      channel,
      since: { offset: 1, epoch: sub.epoch ?? '' },
      limit: 1,
    });
    expect(since.publications).toEqual([{ offset: 2, data: 2 }]);
    const position = await client.request({ cmd: 'history', channel, limit: 0 });
    expect(position).toEqual({ offset: 3, epoch: sub.epoch, publications: [] });

    const live = `nohist:${uniqueId('live')}`;
    await client.request({ cmd: 'subscribe', channel: live });
    await expect(client.request({ cmd: 'history', channel: live })).rejects.toMatchObject({
      code: ErrorCode.NOT_AVAILABLE.code,
    });
  });

  it('refuses channels that break the grammar or name an unknown namespace', async () => {
    const { alpha } = node.apps;
    const client = await node.connect(alpha, 'ws-grammar');
    for (const channel of ['', 'bad channel', 'nowhere:x', ':x', 'x'.repeat(256)]) {
      await expect(client.request({ cmd: 'subscribe', channel })).rejects.toMatchObject({
        code: ErrorCode.UNKNOWN_CHANNEL.code,
      });
    }
    // Still serving after the refusals.
    await expect(client.request({ cmd: 'subscribe', channel: uniqueId('fine') })).resolves.toMatchObject({
      recoverable: true,
    });
  });
});
