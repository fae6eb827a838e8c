import { DisconnectCode } from '@herald/protocol';
import {
  RedisInstance,
  describeWithService,
  progress,
  startCluster,
  uniqueId,
  waitFor,
  type Cluster,
} from '@herald/testing';

// Redis restarted without persistence under a running cluster. The suite starts its OWN
// redis-server (RedisInstance), so the shared Redis other suites use is never restarted; Kafka is
// the shared broker. Every stream's history is gone, so its epoch changes: clients that recover
// learn `recovered: false`, and live subscribers are disconnected with 3006 (insufficient state)
// so they recover: never a silent gap.

describeWithService('kafka', 'cluster: Redis restarted without persistence', (kafka) => {
  let redis: RedisInstance;
  let cluster: Cluster;

  beforeAll(async () => {
    progress('cluster-redis-restart.e2e: starting a private Redis, api + 2 gateways');
    redis = await RedisInstance.start();
    cluster = await startCluster({ kafka, redis: redis.url });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    await redis?.destroy();
  }, 30_000);

  it('changes the epoch: recovering clients get recovered: false, live subscribers are disconnected with 3006', async () => {
    const { alpha } = cluster.apps;
    const [g1, g2] = cluster.gateways;
    const rest = cluster.rest(alpha);
    const channel = `stream:${uniqueId('epoch')}`;

    const live = await cluster.connect(g2, alpha, uniqueId('live'));
    const leaving = await cluster.connect(g1, alpha, uniqueId('leaving'));
    const { epoch } = await live.request({ cmd: 'subscribe', channel });
    await leaving.request({ cmd: 'subscribe', channel });
    for (const i of [1, 2, 3]) await rest.publish(channel, i);
    expect((await live.nextPubs(channel, 3)).map((p) => p.offset)).toEqual([1, 2, 3]);
    expect((await leaving.nextPubs(channel, 3)).map((p) => p.offset)).toEqual([1, 2, 3]);
    await leaving.close();

    await redis.restart();
    progress('private Redis restarted (all keys lost)');

    // While the nodes reconnect, a Redis-backed call answers 503 with Retry-After (never a 200 on
    // lost state); the condition "Redis is back for the api" has no event visible from outside.
    const statuses = new Set<number>();
    await waitFor(
      async () => {
        const r = await rest.call('GET', `/channels/${encodeURIComponent(channel)}/history`);
        statuses.add(r.status);
        if (r.status === 503) expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
        return r.status === 200;
      },
      { timeoutMs: 20_000, intervalMs: 100, message: 'the api reaches the restarted Redis' },
    );
    for (const s of statuses) expect([200, 503]).toContain(s);

    const after = await rest.publish(channel, 'after restart');
    expect(after.offset).toBe(1);
    expect(after.epoch).not.toBe(epoch);

    // The live subscriber saw offsets 1..3 of the old epoch; offset 1 of a new epoch is not a
    // continuation, so it is told to recover.
    expect((await live.waitClosed({ timeoutMs: 10_000 })).code).toBe(DisconnectCode.INSUFFICIENT_STATE.code);

    // Both recover from offset 3 of the old epoch: the gap cannot be filled, and they are told so.
    for (const node of [g1, g2]) {
      const again = await cluster.connect(node, alpha, uniqueId('again'));
      const sub = await again.request({
        cmd: 'subscribe',
        channel,
        recover: { offset: 3, epoch: epoch ?? '' },
      });
      expect(sub.recovered).toBe(false);
      expect(sub.epoch).toBe(after.epoch);
      expect(sub.offset).toBe(1);
    }
  }, 60_000);
});
