import { RedisConnection } from '@herald/redis';
import { describeWithService, occupancyCounterContract, uniqueId, waitFor } from '@herald/testing';
import { RedisOccupancyCounter } from './redis.occupancy-counter.js';

describeWithService('redis', 'RedisOccupancyCounter', (url) => {
  occupancyCounterContract('RedisOccupancyCounter', () => {
    // A key prefix per test: the lease set spans the deployment, so tests do not sweep each other.
    const keyPrefix = `${uniqueId('test')}:`;
    // Real time on Redis' clock: a short lease, waited for with waitFor.
    const leaseMs = 300;
    // Each counter is a gateway of its own: its own node id and connection to the same Redis.
    const connections: RedisConnection[] = [];
    const node = () => {
      const connection = new RedisConnection({ url, keyPrefix });
      connections.push(connection);
      return new RedisOccupancyCounter({ connection, node: uniqueId('node'), leaseMs });
    };
    return Promise.resolve({
      counter: node(),
      another: () => Promise.resolve(node()),
      leaseMs,
      teardown: async () => {
        await Promise.all(connections.map((c) => c.close()));
      },
    });
  });
});

describeWithService('redis', 'RedisOccupancyCounter sweeps in batches', (url) => {
  it("removes a dead node's many keys over several small sweeps, each reported once across concurrent sweepers", async () => {
    const keyPrefix = `${uniqueId('test')}:`;
    const connections = Array.from({ length: 4 }, () => new RedisConnection({ url, keyPrefix }));
    try {
      const app = uniqueId('app');
      const [dead, ...sweepers] = connections.map(
        (connection) =>
          new RedisOccupancyCounter({ connection, node: uniqueId('node'), leaseMs: 300, sweepBatch: 3 }),
      );
      const keys = Array.from({ length: 20 }, (_, i) => `c:room-${String(i).padStart(2, '0')}`);
      for (const k of keys) await dead.add(app, k, 1);
      await sweepers[0].add(app, 'c:room-00', 1);
      const reported: string[] = [];
      let calls = 0;
      await waitFor(
        async () => {
          for (const s of sweepers) await s.heartbeat();
          const swept = await Promise.all(sweepers.map((s) => s.sweep()));
          calls++;
          for (const r of swept.flat()) if (r.appId === app) reported.push(r.key);
          return (await sweepers[1].list(app, 'c:', 100)).length === 1;
        },
        { timeoutMs: 10_000, intervalMs: 20 },
      );
      expect(reported.sort()).toEqual(keys.slice(1));
      expect(calls).toBeGreaterThan(1);
      expect(await sweepers[2].list(app, 'c:', 100)).toEqual([{ key: 'c:room-00', count: 1 }]);
    } finally {
      await Promise.all(connections.map((c) => c.close()));
    }
  });
});
