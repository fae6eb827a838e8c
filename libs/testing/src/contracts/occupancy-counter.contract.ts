import type { OccupancyCounter, VacatedKey } from '@herald/presence';
import { uniqueId } from '../unique-id.js';
import { waitFor } from '../wait-for.js';

export interface OccupancyCounterFixture {
  counter: OccupancyCounter;
  /** Another counter on the same data (another gateway, with a node id and a lease of its own). */
  another(): Promise<OccupancyCounter>;
  /** The counters' lease. */
  leaseMs: number;
  /**
   * Moves the counters' clock forward (a manual clock). Absent: the driver uses real time (Redis'
   * clock), and the suite waits for leases to run out with waitFor; keep `leaseMs` short then.
   */
  advance?(ms: number): void;
  teardown(): Promise<void>;
}

/** The OccupancyCounter guarantees (libs/webhooks/src/occupancy.ts), for every driver. */
export function occupancyCounterContract(name: string, setup: () => Promise<OccupancyCounterFixture>): void {
  describe(`OccupancyCounter contract: ${name}`, () => {
    let fx: OccupancyCounterFixture;
    let counter: OccupancyCounter;
    let app: string;

    beforeEach(async () => {
      fx = await setup();
      counter = fx.counter;
      app = uniqueId('app');
    });
    afterEach(async () => {
      await fx.teardown();
    });

    it('counts up and down and never below zero', async () => {
      expect(await counter.count(app, 'c:room')).toBe(0);
      expect(await counter.add(app, 'c:room', 1)).toBe(1);
      expect(await counter.add(app, 'c:room', 1)).toBe(2);
      expect(await counter.count(app, 'c:room')).toBe(2);
      expect(await counter.add(app, 'c:room', -1)).toBe(1);
      expect(await counter.add(app, 'c:room', -1)).toBe(0);
      expect(await counter.add(app, 'c:room', -1)).toBe(0);
      expect(await counter.count(app, 'c:room')).toBe(0);
      expect(await counter.add(app, 'c:room', 1)).toBe(1);
    });

    it('setAnnounced returns the previous flag', async () => {
      expect(await counter.setAnnounced(app, 'c:room', true)).toBe(false);
      expect(await counter.setAnnounced(app, 'c:room', true)).toBe(true);
      expect(await counter.setAnnounced(app, 'c:room', false)).toBe(true);
      expect(await counter.setAnnounced(app, 'c:room', false)).toBe(false);
    });

    it('the flag and the count are independent and survive each other reaching zero', async () => {
      await counter.add(app, 'k', 1);
      await counter.setAnnounced(app, 'k', true);
      expect(await counter.add(app, 'k', -1)).toBe(0);
      expect(await counter.setAnnounced(app, 'k', false)).toBe(true);
      await counter.setAnnounced(app, 'k', true);
      expect(await counter.count(app, 'k')).toBe(0);
      expect(await counter.add(app, 'k', 1)).toBe(1);
      expect(await counter.setAnnounced(app, 'k', true)).toBe(true);
    });

    it('keys are per app', async () => {
      const other = uniqueId('app');
      await counter.add(app, 'c:room', 1);
      await counter.setAnnounced(app, 'c:room', true);
      expect(await counter.count(other, 'c:room')).toBe(0);
      expect(await counter.setAnnounced(other, 'c:room', true)).toBe(false);
    });

    /**
     * Lets `victim`'s lease run out while `survivors` keep theirs, sweeping from every survivor at
     * once until `done`; returns what the sweeps reported for this suite's app.
     */
    async function expireNode(
      survivors: OccupancyCounter[],
      done: () => Promise<boolean>,
    ): Promise<VacatedKey[]> {
      const reports: VacatedKey[] = [];
      fx.advance?.(fx.leaseMs + 1);
      await waitFor(
        async () => {
          for (const s of survivors) await s.heartbeat();
          const swept = await Promise.all(survivors.map((s) => s.sweep()));
          for (const r of swept) reports.push(...r.filter((v) => v.appId === app));
          return done();
        },
        { timeoutMs: fx.leaseMs * 3 + 5000, intervalMs: Math.max(5, Math.floor(fx.leaseMs / 10)) },
      );
      return reports;
    }

    it("a node only takes back what it added; the total is every node's", async () => {
      const b = await fx.another();
      expect(await counter.add(app, 'c:room', 1)).toBe(1);
      expect(await b.add(app, 'c:room', 1)).toBe(2);
      expect(await b.add(app, 'c:room', -1)).toBe(1);
      expect(await b.add(app, 'c:room', -1)).toBe(1);
      expect(await counter.count(app, 'c:room')).toBe(1);
      expect(await counter.add(app, 'c:room', -1)).toBe(0);
    });

    it('lists the keys above zero by prefix, in byte order, up to the limit, per app', async () => {
      const b = await fx.another();
      const other = uniqueId('app');
      for (const k of ['c:b', 'c:a', 'c:ab', 'm:a\u0000u1', 'c:\u00e9t\u00e9', 'c:zz'])
        await counter.add(app, k, 1);
      await b.add(app, 'c:a', 1);
      await counter.add(app, 'c:zz', -1);
      await counter.setAnnounced(app, 'c:announced-only', true);
      await counter.add(other, 'c:a', 1);
      expect(await b.list(app, 'c:', 100)).toEqual([
        { key: 'c:a', count: 2 },
        { key: 'c:ab', count: 1 },
        { key: 'c:b', count: 1 },
        { key: 'c:\u00e9t\u00e9', count: 1 },
      ]);
      expect(await counter.list(app, 'c:a', 100)).toEqual([
        { key: 'c:a', count: 2 },
        { key: 'c:ab', count: 1 },
      ]);
      expect(await counter.list(app, 'c:', 2)).toEqual([
        { key: 'c:a', count: 2 },
        { key: 'c:ab', count: 1 },
      ]);
      expect((await counter.list(app, '', 100)).map((e) => e.key)).toContain('m:a\u0000u1');
      expect(await counter.list(app, 'c:nothing', 100)).toEqual([]);
      expect(await counter.list(other, 'c:', 100)).toEqual([{ key: 'c:a', count: 1 }]);
    });

    it("a dead node's keys are swept after its lease: each emptied key is reported exactly once", async () => {
      const dead = await fx.another();
      const c = await fx.another();
      await counter.add(app, 'c:shared', 1);
      await dead.add(app, 'c:shared', 1);
      await dead.add(app, 'c:gone', 1);
      await dead.add(app, 'c:gone', 1);
      await dead.add(app, 'm:gone\u0000u1', 1);
      await dead.setAnnounced(app, 'c:gone', true);
      await c.heartbeat();
      await counter.heartbeat();
      const reports = await expireNode(
        [counter, c],
        async () => (await counter.count(app, 'c:gone')) === 0 && (await c.count(app, 'c:shared')) === 1,
      );
      expect(reports.map((r) => r.key).sort()).toEqual(['c:gone', 'm:gone\u0000u1']);
      expect(await counter.list(app, 'c:', 100)).toEqual([{ key: 'c:shared', count: 1 }]);
      // The flag is the caller's to clear: exactly one clearer sees it set.
      expect(await c.setAnnounced(app, 'c:gone', false)).toBe(true);
      expect(await counter.setAnnounced(app, 'c:gone', false)).toBe(false);
      // Nothing is reported twice, and live nodes keep their keys.
      expect((await Promise.all([counter.sweep(), c.sweep()])).flat().filter((v) => v.appId === app)).toEqual(
        [],
      );
      expect(await counter.add(app, 'c:shared', -1)).toBe(0);
    });

    it('a node swept while still running puts its counts back at its next heartbeat or add', async () => {
      const paused = await fx.another();
      await paused.add(app, 'c:x', 1);
      await paused.add(app, 'c:x', 1);
      await paused.add(app, 'c:y', 1);
      await counter.add(app, 'c:z', 1);
      const reports = await expireNode([counter], async () => (await counter.count(app, 'c:x')) === 0);
      expect(reports.map((r) => r.key).sort()).toEqual(['c:x', 'c:y']);
      await paused.heartbeat();
      expect(await counter.count(app, 'c:x')).toBe(2);
      expect(await counter.count(app, 'c:y')).toBe(1);
      expect(await paused.add(app, 'c:x', -1)).toBe(1);
      // Once more, this time found out by an add.
      const again = await expireNode([counter], async () => (await counter.count(app, 'c:y')) === 0);
      expect(again.map((r) => r.key).sort()).toEqual(['c:x', 'c:y']);
      expect(await paused.add(app, 'c:y', 1)).toBe(2);
      expect(await counter.list(app, 'c:', 10)).toEqual([
        { key: 'c:x', count: 1 },
        { key: 'c:y', count: 2 },
        { key: 'c:z', count: 1 },
      ]);
    });

    it('is atomic across nodes: concurrent adds see every count once, one of many announcers wins', async () => {
      const nodes = [counter, await fx.another(), await fx.another()];
      const ups = await Promise.all(Array.from({ length: 30 }, (_, i) => nodes[i % 3].add(app, 'c:busy', 1)));
      expect([...ups].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      const prev = await Promise.all(
        Array.from({ length: 30 }, (_, i) => nodes[i % 3].setAnnounced(app, 'c:busy', true)),
      );
      expect(prev.filter((p) => !p)).toHaveLength(1);
      const downs = await Promise.all(
        Array.from({ length: 30 }, (_, i) => nodes[(i + 1) % 3].add(app, 'c:busy', -1)),
      );
      expect(downs.filter((n) => n === 0)).toHaveLength(1);
      expect(await counter.count(app, 'c:busy')).toBe(0);
    });
  });
}
