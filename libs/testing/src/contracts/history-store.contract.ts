import { requireClock, type ContractOptions } from './fixture.js';
import type { AppendOptions, HistoryStore } from '@herald/history';
import { uniqueId } from '../unique-id.js';
import { waitFor } from '../wait-for.js';
import { type ContractFixture, expirePast, elapse, SLOW_TEST_MS, TTL_MS } from './fixture.js';

export interface HistoryStoreFixture extends ContractFixture {
  store: HistoryStore;
}

/**
 * The HistoryStore guarantees (libs/history/src/history-store.ts), for every driver. Each test uses
 * fresh app ids, so suites may share one server.
 */
export function historyStoreContract(
  name: string,
  setup: () => Promise<HistoryStoreFixture>,
  options: ContractOptions = { manualClock: true },
): void {
  // Checks of exact timing need a clock the suite controls; on real time they are reported as skipped.
  const itManualClock = options.manualClock ? it : it.skip;
  describe(`HistoryStore contract: ${name}`, () => {
    let fx: HistoryStoreFixture;
    let store: HistoryStore;
    let app: string;
    const ch = 'news';
    const opts: AppendOptions = { size: 10, ttlMs: 60_000 };

    beforeEach(async () => {
      fx = await setup();
      store = fx.store;
      app = uniqueId('app');
    });
    afterEach(async () => {
      await fx.teardown();
    });

    async function appendN(n: number, options: AppendOptions = opts, channel = ch): Promise<void> {
      for (let i = 1; i <= n; i++) await store.append(app, channel, `v${i}`, options);
    }
    const offsets = (entries: { offset: number }[]): number[] => entries.map((e) => e.offset);

    describe('position and epoch', () => {
      it('creates a missing stream at top 0 with a non-empty epoch, stable across calls', async () => {
        const p1 = await store.position(app, ch);
        expect(p1.offset).toBe(0);
        expect(typeof p1.epoch).toBe('string');
        expect(p1.epoch.length).toBeGreaterThan(0);
        expect(await store.position(app, ch)).toEqual(p1);
      });

      it('gives different streams different epochs', async () => {
        const a = await store.position(app, 'a');
        const b = await store.position(app, 'b');
        const c = await store.position(uniqueId('app'), 'a');
        expect(new Set([a.epoch, b.epoch, c.epoch]).size).toBe(3);
      });

      it('read of a missing stream creates it: no entries, top 0', async () => {
        const r = await store.read(app, ch, {});
        expect(r.entries).toEqual([]);
        expect(r.position.offset).toBe(0);
        expect(await store.position(app, ch)).toEqual(r.position);
      });
    });

    describe('append', () => {
      it('assigns offsets top+1 in the epoch of the existing stream', async () => {
        const before = await store.position(app, ch);
        const p1 = await store.append(app, ch, 'a', opts);
        const p2 = await store.append(app, ch, 'b', opts);
        expect(p1).toEqual({ offset: 1, epoch: before.epoch });
        expect(p2).toEqual({ offset: 2, epoch: before.epoch });
        expect(await store.position(app, ch)).toEqual(p2);
      });

      it('keeps values byte for byte', async () => {
        const values = ['', ' ', '{"a":[1,2]}', 'ünïcødé ✓ 😀', 'x'.repeat(10_000)];
        for (const v of values) await store.append(app, ch, v, opts);
        const r = await store.read(app, ch, {});
        expect(r.entries.map((e) => e.value)).toEqual(values);
      });

      it('gives 100 concurrent appends the offsets 1..100 exactly once, each stored with its value', async () => {
        const n = 100;
        const results = await Promise.all(
          Array.from({ length: n }, (_, i) => store.append(app, ch, `v${i}`, { size: n, ttlMs: 60_000 })),
        );
        expect(results.map((p) => p.offset).sort((a, b) => a - b)).toEqual(
          Array.from({ length: n }, (_, i) => i + 1),
        );
        expect(new Set(results.map((p) => p.epoch)).size).toBe(1);
        const r = await store.read(app, ch, {});
        expect(offsets(r.entries)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        const byOffset = new Map(r.entries.map((e) => [e.offset, e.value]));
        results.forEach((p, i) => expect(byOffset.get(p.offset)).toBe(`v${i}`));
        expect(r.position.offset).toBe(n);
      });

      it('keeps at most `size` entries, trimming the oldest; top keeps counting', async () => {
        await appendN(5, { size: 3, ttlMs: 60_000 });
        const r = await store.read(app, ch, {});
        expect(r.entries).toEqual([
          { offset: 3, value: 'v3' },
          { offset: 4, value: 'v4' },
          { offset: 5, value: 'v5' },
        ]);
        expect(r.position.offset).toBe(5);
      });

      it('size 1 keeps only the newest entry', async () => {
        await appendN(3, { size: 1, ttlMs: 60_000 });
        expect((await store.read(app, ch, {})).entries).toEqual([{ offset: 3, value: 'v3' }]);
      });
    });

    describe('read', () => {
      beforeEach(async () => {
        await appendN(5);
      });

      it('returns all kept entries ascending with limit undefined or -1', async () => {
        const all = [1, 2, 3, 4, 5];
        expect(offsets((await store.read(app, ch, {})).entries)).toEqual(all);
        expect(offsets((await store.read(app, ch, { limit: -1 })).entries)).toEqual(all);
      });

      it('limit 0 returns no entries, only the position', async () => {
        const r = await store.read(app, ch, { limit: 0 });
        expect(r.entries).toEqual([]);
        expect(r.position).toEqual(await store.position(app, ch));
        expect(r.position.offset).toBe(5);
      });

      it('limit n returns the oldest n ascending, or the newest n descending with reverse', async () => {
        expect(offsets((await store.read(app, ch, { limit: 2 })).entries)).toEqual([1, 2]);
        expect(offsets((await store.read(app, ch, { limit: 2, reverse: true })).entries)).toEqual([5, 4]);
        expect(offsets((await store.read(app, ch, { reverse: true })).entries)).toEqual([5, 4, 3, 2, 1]);
        expect(offsets((await store.read(app, ch, { limit: 50 })).entries)).toEqual([1, 2, 3, 4, 5]);
      });

      it('since returns only entries with a greater offset', async () => {
        const { epoch } = await store.position(app, ch);
        expect(offsets((await store.read(app, ch, { since: { offset: 2, epoch } })).entries)).toEqual([
          3, 4, 5,
        ]);
        expect(offsets((await store.read(app, ch, { since: { offset: 0, epoch } })).entries)).toEqual([
          1, 2, 3, 4, 5,
        ]);
        expect((await store.read(app, ch, { since: { offset: 5, epoch } })).entries).toEqual([]);
      });

      it('since beyond top returns no entries and the current position', async () => {
        const r = await store.read(app, ch, { since: { offset: 99, epoch: 'whatever' } });
        expect(r.entries).toEqual([]);
        expect(r.position.offset).toBe(5);
      });

      it('since filters by offset whatever its epoch', async () => {
        const r = await store.read(app, ch, { since: { offset: 3, epoch: 'another-epoch' } });
        expect(offsets(r.entries)).toEqual([4, 5]);
      });

      it('since with limit returns the oldest after since; with reverse the newest after since', async () => {
        const { epoch } = await store.position(app, ch);
        const since = { offset: 1, epoch };
        expect(offsets((await store.read(app, ch, { since, limit: 2 })).entries)).toEqual([2, 3]);
        expect(offsets((await store.read(app, ch, { since, limit: 2, reverse: true })).entries)).toEqual([
          5, 4,
        ]);
        expect(offsets((await store.read(app, ch, { since, reverse: true })).entries)).toEqual([5, 4, 3, 2]);
        expect(
          offsets(
            (await store.read(app, ch, { since: { offset: 3, epoch }, limit: 5, reverse: true })).entries,
          ),
        ).toEqual([5, 4]);
      });

      it('since older than the kept window returns what is kept (the caller sees the gap)', async () => {
        await appendN(3, { size: 3, ttlMs: 60_000 }, 'small');
        await appendN(2, { size: 3, ttlMs: 60_000 }, 'small'); // offsets 4, 5: keeps 3..5
        const { epoch } = await store.position(app, 'small');
        const r = await store.read(app, 'small', { since: { offset: 1, epoch } });
        expect(offsets(r.entries)).toEqual([3, 4, 5]);
      });
    });

    describe('remove', () => {
      it('deletes the stream; the next append starts a new epoch at offset 1', async () => {
        await appendN(3);
        const old = await store.position(app, ch);
        await store.remove(app, ch);
        const r = await store.read(app, ch, {});
        expect(r.entries).toEqual([]);
        expect(r.position.offset).toBe(0);
        expect(r.position.epoch).not.toBe(old.epoch);
        const p = await store.append(app, ch, 'again', opts);
        expect(p).toEqual({ offset: 1, epoch: r.position.epoch });
      });

      it('never reuses an epoch', async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 5; i++) {
          seen.add((await store.append(app, ch, 'x', opts)).epoch);
          await store.remove(app, ch);
        }
        expect(seen.size).toBe(5);
      });

      it('removing a missing stream is a no-op', async () => {
        await expect(store.remove(app, 'missing')).resolves.toBeUndefined();
      });
    });

    describe('TTL', () => {
      it(
        'drops entries ttlMs after append but keeps epoch and top',
        async () => {
          await appendN(3, { size: 10, ttlMs: TTL_MS });
          const before = await store.position(app, ch);
          await expirePast(fx, TTL_MS, async () => (await store.read(app, ch, {})).entries.length === 0);
          const r = await store.read(app, ch, { since: { offset: 0, epoch: before.epoch } });
          expect(r.entries).toEqual([]);
          expect(r.position).toEqual(before);
          expect(await store.append(app, ch, 'next', { size: 10, ttlMs: TTL_MS })).toEqual({
            offset: 4,
            epoch: before.epoch,
          });
        },
        SLOW_TEST_MS,
      );

      it(
        'drops only entries older than ttlMs',
        async () => {
          const o = { size: 10, ttlMs: TTL_MS };
          await store.append(app, ch, 'old', o);
          await elapse(fx, TTL_MS / 2);
          await store.append(app, ch, 'new', o);
          if (fx.clock) {
            fx.clock.advance(TTL_MS / 2 - 1); // just before 'old' expires
            expect(offsets((await store.read(app, ch, {})).entries)).toEqual([1, 2]);
            fx.clock.advance(2);
          } else {
            await waitFor(async () => (await store.read(app, ch, {})).entries.length < 2, {
              timeoutMs: 5000,
            });
          }
          expect((await store.read(app, ch, {})).entries).toEqual([{ offset: 2, value: 'new' }]);
        },
        SLOW_TEST_MS,
      );

      it(
        'starts a new epoch at top 0 once metaTtlMs passed since the last append',
        async () => {
          const o = { size: 10, ttlMs: TTL_MS / 2, metaTtlMs: TTL_MS };
          const first = await store.append(app, ch, 'a', o);
          await store.append(app, ch, 'b', o);
          await expirePast(fx, TTL_MS, async () => (await store.position(app, ch)).epoch !== first.epoch);
          const r = await store.read(app, ch, {});
          expect(r.entries).toEqual([]);
          expect(r.position.offset).toBe(0);
          expect(r.position.epoch).not.toBe(first.epoch);
          expect((await store.append(app, ch, 'c', o)).offset).toBe(1);
        },
        SLOW_TEST_MS,
      );

      itManualClock('each append extends the meta TTL (manual clock only)', async () => {
        const clock = requireClock(fx);
        const o = { size: 10, ttlMs: 100, metaTtlMs: 1000 };
        const { epoch } = await store.append(app, ch, 'a', o);
        clock.advance(900);
        await store.append(app, ch, 'b', o);
        clock.advance(900); // 1800 after the first append, 900 after the last
        expect(await store.position(app, ch)).toEqual({ offset: 2, epoch });
      });

      itManualClock('defaults metaTtlMs to max(ttlMs, 1 h) (manual clock only)', async () => {
        const clock = requireClock(fx);
        const short = await store.append(app, 'short', 'a', { size: 10, ttlMs: 1000 });
        const long = await store.append(app, 'long', 'a', { size: 10, ttlMs: 7_200_000 });
        clock.advance(3_600_000 - 1);
        expect(await store.position(app, 'short')).toEqual(short);
        expect((await store.read(app, 'short', {})).entries).toEqual([]);
        clock.advance(2);
        expect((await store.position(app, 'short')).epoch).not.toBe(short.epoch);
        expect(await store.position(app, 'long')).toEqual(long);
        clock.advance(3_600_000);
        expect((await store.position(app, 'long')).epoch).not.toBe(long.epoch);
      });

      itManualClock('entries live exactly ttlMs (manual clock only)', async () => {
        const clock = requireClock(fx);
        await store.append(app, ch, 'a', { size: 10, ttlMs: 1000 });
        clock.advance(999);
        expect((await store.read(app, ch, {})).entries).toHaveLength(1);
        clock.advance(2);
        expect((await store.read(app, ch, {})).entries).toHaveLength(0);
      });
    });

    describe('isolation', () => {
      it('never shows one app the entries of another with the same channel name', async () => {
        const other = uniqueId('app');
        await appendN(3);
        expect((await store.read(other, ch, {})).entries).toEqual([]);
        expect((await store.position(other, ch)).offset).toBe(0);
        expect(await store.append(other, ch, 'other', opts)).toMatchObject({ offset: 1 });
        expect((await store.read(app, ch, {})).entries.map((e) => e.value)).toEqual(['v1', 'v2', 'v3']);
        await store.remove(other, ch);
        expect((await store.position(app, ch)).offset).toBe(3);
      });

      it('keeps channels of one app apart', async () => {
        await appendN(2, opts, 'a');
        await appendN(1, opts, 'b');
        expect((await store.read(app, 'a', {})).entries.map((e) => e.value)).toEqual(['v1', 'v2']);
        expect((await store.read(app, 'b', {})).entries).toEqual([{ offset: 1, value: 'v1' }]);
      });
    });
  });
}
