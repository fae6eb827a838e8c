import { ErrorCode, type ClientInfo, type Push } from '@herald/protocol';
import { startTestNode, uniqueId, type TestNode } from '@herald/testing';

// Presence: who is in a channel (WebSocket and REST agree), and the join/leave pushes other
// subscribers get when someone subscribes, unsubscribes or disconnects.

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode();
});

afterAll(async () => {
  await node?.close();
});

const joinOf = (channel: string, user: string) => (p: Push) =>
  p.push === 'join' && p.channel === channel && p.info.user === user;
const leaveOf = (channel: string, user: string) => (p: Push) =>
  p.push === 'leave' && p.channel === channel && p.info.user === user;
const byClient = (a: ClientInfo, b: ClientInfo) => (a.client < b.client ? -1 : 1);

describe('presence', () => {
  it('lists members and counts over WebSocket and REST alike', async () => {
    const { alpha } = node.apps;
    const channel = `chat:${uniqueId('room')}`;
    const ann = await node.connect(alpha, 'pr-ann', { info: { name: 'Ann' } });
    const bob = await node.connect(alpha, 'pr-bob');
    const bob2 = await node.connect(alpha, 'pr-bob');
    const annConn = await ann.request({ cmd: 'subscribe', channel });
    expect(annConn.recoverable).toBe(true);
    await bob.request({ cmd: 'subscribe', channel });
    await bob2.request({ cmd: 'subscribe', channel });

    const wsMembers = (await ann.request({ cmd: 'presence', channel })).members.sort(byClient);
    expect(wsMembers).toHaveLength(3);
    expect(wsMembers.map((m) => m.user).sort()).toEqual(['pr-ann', 'pr-bob', 'pr-bob']);
    expect(wsMembers.find((m) => m.user === 'pr-ann')?.info).toEqual({ name: 'Ann' });
    expect(await ann.request({ cmd: 'presence_stats', channel })).toEqual({ num_clients: 3, num_users: 2 });

    const rest = node.rest(alpha);
    const path = `/channels/${encodeURIComponent(channel)}`;
    const restMembers = await rest.ok<{ members: ClientInfo[] }>('GET', `${path}/presence`);
    expect(restMembers.members.sort(byClient)).toEqual(wsMembers);
    await expect(rest.ok('GET', `${path}/presence_stats`)).resolves.toEqual({ num_clients: 3, num_users: 2 });
  });

  it('pushes join and leave to other subscribers on subscribe, unsubscribe and disconnect', async () => {
    const { alpha } = node.apps;
    const channel = `chat:${uniqueId('room')}`;
    const watcher = await node.connect(alpha, 'pr-watcher');
    await watcher.request({ cmd: 'subscribe', channel });

    const joiner = await node.connect(alpha, 'pr-joiner', { info: { color: 'red' } });
    // Presence queries over a connection need a subscription to the channel.
    await expect(joiner.request({ cmd: 'presence_stats', channel })).rejects.toMatchObject({
      code: ErrorCode.NOT_SUBSCRIBED.code,
    });
    await joiner.request({ cmd: 'subscribe', channel });
    const join = await watcher.nextPush(joinOf(channel, 'pr-joiner'));
    expect(join).toEqual({
      push: 'join',
      channel,
      info: { user: 'pr-joiner', client: expect.any(String), info: { color: 'red' } },
    });

    await joiner.request({ cmd: 'unsubscribe', channel });
    const leave = await watcher.nextPush(leaveOf(channel, 'pr-joiner'));
    expect(leave.push === 'leave' && leave.info.client).toBe(join.push === 'join' && join.info.client);
    expect(await watcher.request({ cmd: 'presence_stats', channel })).toEqual({
      num_clients: 1,
      num_users: 1,
    });

    const dropper = await node.connect(alpha, 'pr-dropper');
    await dropper.request({ cmd: 'subscribe', channel });
    await watcher.nextPush(joinOf(channel, 'pr-dropper'));
    await dropper.close();
    await watcher.nextPush(leaveOf(channel, 'pr-dropper'));
    expect(await watcher.request({ cmd: 'presence_stats', channel })).toEqual({
      num_clients: 1,
      num_users: 1,
    });
    const rest = node.rest(alpha);
    await expect(rest.ok('GET', `/channels/${encodeURIComponent(channel)}/presence_stats`)).resolves.toEqual({
      num_clients: 1,
      num_users: 1,
    });
  });

  it('refuses presence where the namespace has none', async () => {
    const { alpha } = node.apps;
    const channel = `nohist:${uniqueId('quiet')}`;
    const client = await node.connect(alpha, 'pr-quiet');
    await client.request({ cmd: 'subscribe', channel });
    await expect(client.request({ cmd: 'presence', channel })).rejects.toMatchObject({
      code: ErrorCode.NOT_AVAILABLE.code,
    });
    const res = await node.rest(alpha).call('GET', `/channels/${encodeURIComponent(channel)}/presence`);
    expect(res.status).toBe(ErrorCode.NOT_AVAILABLE.status);
    expect(res.body).toMatchObject({ error: { code: ErrorCode.NOT_AVAILABLE.code, name: 'not_available' } });
  });
});
