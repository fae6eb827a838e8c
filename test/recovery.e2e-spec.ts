import type { Push } from '@herald/protocol';
import { startTestNode, uniqueId, type TestNode } from '@herald/testing';

// Recovery (DESIGN.md "Delivery, history and recovery"): a client that comes back with its last
// {offset, epoch} gets exactly what it missed and `recovered: true`, or `recovered: false` and
// nothing: never a partial recovery presented as complete, never a publication twice.

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode();
});

afterAll(async () => {
  await node?.close();
});

const HISTORY_SIZE = 10; // TEST_NAMESPACES.default.historySize
const pubOn = (channel: string) => (p: Push) => p.push === 'pub' && p.channel === channel;

describe('recovery', () => {
  it('returns exactly the missed publications in order, then continues live without duplicates', async () => {
    const { alpha } = node.apps;
    const rest = node.rest(alpha);
    const channel = uniqueId('rec');
    const first = await node.connect(alpha, 'rec-user');
    const sub = await first.request({ cmd: 'subscribe', channel });
    await rest.publish(channel, 'seen-1');
    await rest.publish(channel, 'seen-2');
    const seen = await first.nextPubs(channel, 2);
    const last = { offset: seen[1].offset ?? -1, epoch: sub.epoch ?? '' };
    expect(last.offset).toBe(2);
    await first.close();

    const N = 4;
    for (let i = 1; i <= N; i++) await rest.publish(channel, `missed-${i}`);

    const again = await node.connect(alpha, 'rec-user');
    const recovered = await again.request({ cmd: 'subscribe', channel, recover: last });
    expect(recovered).toEqual({
      recoverable: true,
      recovered: true,
      offset: 2 + N,
      epoch: last.epoch,
      publications: [3, 4, 5, 6].map((offset, i) => ({ offset, data: `missed-${i + 1}` })),
    });

    // Live delivery resumes right after the recovered position: nothing replayed, nothing skipped.
    await rest.publish(channel, 'live-1');
    const after = await again.pubsBeforeSentinel(channel, (m) => rest.publish(channel, m));
    expect(after).toEqual([{ offset: 3 + N, data: 'live-1' }]);
    expect(again.takePushes(pubOn(channel))).toEqual([]);
  });

  it('recovers with nothing missed: recovered true and no publications', async () => {
    const { alpha } = node.apps;
    const rest = node.rest(alpha);
    const channel = uniqueId('rec-none');
    const top = await rest.publish(channel, 'only');
    const client = await node.connect(alpha, 'rec-none');
    const result = await client.request({
      cmd: 'subscribe',
      channel,
      recover: { offset: top.offset ?? -1, epoch: top.epoch ?? '' },
    });
    expect(result).toEqual({
      recoverable: true,
      recovered: true,
      offset: 1,
      epoch: top.epoch,
      publications: [],
    });
  });

  it('reports recovered false and returns nothing once more than historySize publications were missed', async () => {
    const { alpha } = node.apps;
    const rest = node.rest(alpha);
    const channel = uniqueId('rec-overflow');
    const start = await rest.publish(channel, 'before');
    const missed = HISTORY_SIZE + 2;
    for (let i = 0; i < missed; i++) await rest.publish(channel, `missed-${i}`);

    const client = await node.connect(alpha, 'rec-overflow');
    const result = await client.request({
      cmd: 'subscribe',
      channel,
      recover: { offset: start.offset ?? -1, epoch: start.epoch ?? '' },
    });
    expect(result.recovered).toBe(false);
    expect(result.publications ?? []).toEqual([]);
    expect(result).toMatchObject({ recoverable: true, offset: 1 + missed, epoch: start.epoch });

    // The subscription itself is live from the current position.
    await rest.publish(channel, 'next');
    expect(await client.nextPubs(channel, 1)).toEqual([{ offset: 2 + missed, data: 'next' }]);
  });

  it('reports recovered false for a position from another epoch', async () => {
    const { alpha } = node.apps;
    const rest = node.rest(alpha);
    const channel = uniqueId('rec-epoch');
    const top = await rest.publish(channel, 'one');
    await rest.publish(channel, 'two');
    const client = await node.connect(alpha, 'rec-epoch');
    const result = await client.request({
      cmd: 'subscribe',
      channel,
      recover: { offset: (top.offset ?? 1) - 1, epoch: `not-${top.epoch ?? ''}` },
    });
    expect(result.recovered).toBe(false);
    expect(result.publications ?? []).toEqual([]);
    expect(result.epoch).toBe(top.epoch);
  });

  it('reports recovered false for a position ahead of the stream', async () => {
    const { alpha } = node.apps;
    const rest = node.rest(alpha);
    const channel = uniqueId('rec-ahead');
    const top = await rest.publish(channel, 'one');
    const client = await node.connect(alpha, 'rec-ahead');
    const result = await client.request({
      cmd: 'subscribe',
      channel,
      recover: { offset: (top.offset ?? 0) + 5, epoch: top.epoch ?? '' },
    });
    expect(result.recovered).toBe(false);
    expect(result.publications ?? []).toEqual([]);
  });

  it('recovers server-side subscriptions through connect subs', async () => {
    const { alpha } = node.apps;
    const rest = node.rest(alpha);
    const channel = uniqueId('rec-server');
    const token = alpha.token('rec-server', { channels: [channel] });
    const first = await node.open(alpha);
    const connected = await first.request({ cmd: 'connect', token });
    const position = {
      offset: connected.subs[channel].offset ?? -1,
      epoch: connected.subs[channel].epoch ?? '',
    };
    await first.close();
    await rest.publish(channel, 'while-away');

    const again = await node.open(alpha);
    const reconnected = await again.request({
      cmd: 'connect',
      token,
      subs: { [channel]: { recover: position } },
    });
    expect(reconnected.subs[channel]).toEqual({
      recoverable: true,
      recovered: true,
      offset: position.offset + 1,
      epoch: position.epoch,
      publications: [{ offset: position.offset + 1, data: 'while-away' }],
    });
  });

  it('answers recovered false on channels without history', async () => {
    const { alpha } = node.apps;
    const client = await node.connect(alpha, 'rec-nohist');
    const result = await client.request({
      cmd: 'subscribe',
      channel: `nohist:${uniqueId('x')}`,
      recover: { offset: 3, epoch: 'whatever' },
    });
    expect(result).toEqual({ recoverable: false, recovered: false });
  });
});
