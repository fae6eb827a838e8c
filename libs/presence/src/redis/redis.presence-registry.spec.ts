import { RedisConnection } from '@herald/redis';
import { describeWithService, presenceRegistryContract, uniqueId, waitFor } from '@herald/testing';
import { RedisPresenceRegistry } from './redis.presence-registry.js';

describeWithService('redis', 'RedisPresenceRegistry', (url) => {
  // A key prefix per run (sweep() is deployment-wide: this keeps other runs' members out of it).
  const keyPrefix = `${uniqueId('test')}:`;

  presenceRegistryContract(
    'RedisPresenceRegistry',
    async () => {
      const connection = new RedisConnection({ url, keyPrefix });
      const registry = new RedisPresenceRegistry({ connection });
      return { registry, teardown: () => connection.close() };
    },
    { manualClock: false },
  );

  describe('on Redis', () => {
    const connections: RedisConnection[] = [];
    let app: string;
    /** A registry on its own connection, as a separate node would have. */
    function node(prefix = keyPrefix): RedisPresenceRegistry {
      const connection = new RedisConnection({ url, keyPrefix: prefix });
      connections.push(connection);
      return new RedisPresenceRegistry({ connection });
    }
    beforeEach(() => {
      app = uniqueId('app');
    });
    afterEach(async () => {
      await Promise.all(connections.splice(0).map((c) => c.close()));
    });

    it('reports userJoined once for concurrent joins of one user from two connections', async () => {
      const [a, b] = [node(), node()];
      for (let round = 0; round < 10; round++) {
        const channel = `ch${round}`;
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            (i % 2 ? a : b).join(app, channel, { client: `c${i}`, user: 'u1' }, 60_000),
          ),
        );
        expect(results.filter((r) => r.userJoined)).toHaveLength(1);
        expect(results.map((r) => r.numClients).sort((x, y) => x - y)).toEqual(
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
        const leaves = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 ? b : a).leave(app, channel, `c${i}`)),
        );
        expect(leaves.filter((r) => r.userLeft)).toHaveLength(1);
        expect(await a.stats(app, channel)).toEqual({ numClients: 0, numUsers: 0 });
      }
    });

    it('lets exactly one of two nodes report each member of a dead node', async () => {
      const [dead, a, b] = [node(), node(), node()];
      for (let i = 0; i < 30; i++)
        await dead.join(app, `ch${i % 3}`, { client: `c${i}`, user: `u${i}` }, 200);
      const seen: string[] = [];
      await waitFor(
        async () => {
          const rounds = await Promise.all([a.sweep(), b.sweep()]);
          for (const r of rounds) seen.push(...r.filter((m) => m.appId === app).map((m) => m.client));
          return seen.length >= 30;
        },
        { timeoutMs: 5000 },
      );
      expect(seen.sort()).toEqual(Array.from({ length: 30 }, (_, i) => `c${i}`).sort());
    }, 20_000);

    it('keeps every per-app key under the prefix and the app’s hash tag, with a TTL', async () => {
      const reg = node();
      await reg.addConnection(app, { client: 'c1', user: 'u1', node: 'n' }, 60_000);
      await reg.join(
        app,
        'ch',
        { client: 'c1', user: 'u1', info: { pi: 3.141592653589793, big: 9007199254740991 } },
        60_000,
      );
      const client = connections[0].client;
      const keys = (await client.keys(`${keyPrefix}*`)).filter((k) => k.includes(app));
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        expect(key.startsWith(`${keyPrefix}{${app}}:`)).toBe(true);
        expect(await client.pttl(key)).toBeGreaterThan(60_000);
      }
      // Info passes through Redis untouched (never decoded by Lua).
      expect(await reg.members(app, 'ch')).toEqual([
        { client: 'c1', user: 'u1', info: { pi: 3.141592653589793, big: 9007199254740991 } },
      ]);
    });

    it('keeps ids with any characters apart', async () => {
      const reg = node();
      const odd = ['a:b', 'a', 'b}{c', '1:x', 'ü\n✓', ''];
      for (const id of odd) await reg.join(app, id, { client: id, user: id }, 60_000);
      for (const id of odd) expect(await reg.members(app, id)).toEqual([{ client: id, user: id }]);
      expect(await reg.stats(app, 'a:b')).toEqual({ numClients: 1, numUsers: 1 });
    });

    it('keeps deployments with different key prefixes apart, sweeps included', async () => {
      const mine = node();
      const theirs = node(`${uniqueId('other')}:`);
      await theirs.join(app, 'ch', { client: 'c1', user: 'u1' }, 100);
      await mine.join(app, 'ch', { client: 'c1', user: 'u1' }, 100);
      expect(await theirs.members(app, 'ch')).toHaveLength(1);
      const got: string[] = [];
      await waitFor(async () => {
        got.push(...(await mine.sweep()).filter((m) => m.appId === app).map((m) => m.client));
        return got.length >= 1;
      });
      await waitFor(async () => (await theirs.stats(app, 'ch')).numClients === 0);
      expect((await theirs.sweep()).filter((m) => m.appId === app)).toHaveLength(1);
    });
  });
});
