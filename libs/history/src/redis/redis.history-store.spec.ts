import { isRedisUnavailable, RedisConnection } from '@herald/redis';
import { OutageProxy } from '@herald/redis/testing';
import { describeWithService, historyStoreContract, uniqueId, waitFor } from '@herald/testing';
import { RedisHistoryStore } from './redis.history-store.js';

describeWithService('redis', 'RedisHistoryStore', (url) => {
  // A key prefix per run: suites share one Redis without cleaning it.
  const keyPrefix = `${uniqueId('test')}:`;

  historyStoreContract(
    'RedisHistoryStore',
    async () => {
      const connection = new RedisConnection({ url, keyPrefix });
      const store = new RedisHistoryStore({ connection });
      return { store, teardown: () => connection.close() };
    },
    { manualClock: false },
  );

  describe('on Redis', () => {
    let connection: RedisConnection;
    let store: RedisHistoryStore;
    let app: string;
    beforeEach(() => {
      connection = new RedisConnection({ url, keyPrefix });
      store = new RedisHistoryStore({ connection });
      app = uniqueId('app');
    });
    afterEach(() => connection.close());

    it('keeps every key under the prefix and the app’s hash tag', async () => {
      await store.append(app, 'news', 'v', { size: 5, ttlMs: 60_000 });
      const keys = await connection.client.keys(`${keyPrefix}*${app}*`);
      expect(keys.sort()).toEqual([`${keyPrefix}{${app}}:h:news`, `${keyPrefix}{${app}}:hm:news`]);
      expect(await connection.client.pttl(keys[0])).toBeGreaterThan(0);
      expect(await connection.client.pttl(keys[1])).toBeGreaterThan(0);
    });

    it('starts a new epoch when Redis lost its data (FLUSHDB), never a silent gap', async () => {
      // Stands in for a Redis restart without persistence (the restart itself is exercised by the
      // cluster tests through `scripts/infra/redis.sh restart`). Database 9 is reserved for this
      // test: FLUSHALL would wipe the keys of suites running in parallel on database 0.
      const db = new URL(url);
      db.pathname = '/9';
      const flushed = new RedisConnection({ url: db.toString(), keyPrefix });
      try {
        const s = new RedisHistoryStore({ connection: flushed });
        const before = await s.append(app, 'news', 'a', { size: 5, ttlMs: 60_000 });
        await s.append(app, 'news', 'b', { size: 5, ttlMs: 60_000 });
        await flushed.client.flushdb();
        const after = await s.position(app, 'news');
        expect(after.offset).toBe(0);
        expect(after.epoch).not.toBe(before.epoch);
        const r = await s.read(app, 'news', { since: { offset: 2, epoch: before.epoch } });
        expect(r.entries).toEqual([]);
        expect(r.position).toEqual(after);
        expect(await s.append(app, 'news', 'c', { size: 5, ttlMs: 60_000 })).toEqual({
          offset: 1,
          epoch: after.epoch,
        });
      } finally {
        await flushed.close();
      }
    });

    it('treats a stream whose meta is gone as a dead epoch and drops its entries', async () => {
      await store.append(app, 'news', 'old', { size: 5, ttlMs: 60_000 });
      await connection.client.del(`${keyPrefix}{${app}}:hm:news`);
      const p = await store.append(app, 'news', 'new', { size: 5, ttlMs: 60_000 });
      expect(p.offset).toBe(1);
      expect((await store.read(app, 'news', {})).entries).toEqual([{ offset: 1, value: 'new' }]);
    });

    it('gives concurrent appends from two connections consecutive offsets', async () => {
      const other = new RedisConnection({ url, keyPrefix });
      const second = new RedisHistoryStore({ connection: other });
      try {
        const o = { size: 100, ttlMs: 60_000 };
        const results = await Promise.all(
          Array.from({ length: 60 }, (_, i) => (i % 2 ? store : second).append(app, 'ch', `v${i}`, o)),
        );
        expect(results.map((p) => p.offset).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 60 }, (_, i) => i + 1),
        );
        expect(new Set(results.map((p) => p.epoch)).size).toBe(1);
      } finally {
        await other.close();
      }
    });

    it('rejects appends as unavailable within the command timeout while Redis is down, then resumes', async () => {
      const proxy = await OutageProxy.start(url);
      const viaProxy = new RedisConnection({ url: proxy.url, keyPrefix, commandTimeoutMs: 300 });
      try {
        const s = new RedisHistoryStore({ connection: viaProxy });
        const o = { size: 10, ttlMs: 60_000 };
        const first = await s.append(app, 'ch', 'a', o);
        proxy.setMode('down');
        const start = Date.now();
        const err: unknown = await s.append(app, 'ch', 'lost', o).catch((e: unknown) => e);
        expect(isRedisUnavailable(err)).toBe(true);
        expect(Date.now() - start).toBeLessThan(1500);
        proxy.setMode('up');
        await waitFor(async () => (await s.position(app, 'ch').catch(() => undefined)) !== undefined, {
          timeoutMs: 10_000,
        });
        expect(await s.append(app, 'ch', 'b', o)).toEqual({ offset: 2, epoch: first.epoch });
      } finally {
        await viaProxy.close();
        await proxy.close();
      }
    }, 20_000);
  });
});
