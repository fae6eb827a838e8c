/**
 * The contract of PushStateStore (libs/push): run against the memory driver in unit tests and the
 * Redis driver against a real server, with unique app ids so runs can share one server.
 */
import type { PushStateStore } from '@herald/push';
import { uniqueId } from '../unique-id.js';

export function pushStateStoreContract(
  name: string,
  open: () => Promise<{ store: PushStateStore; close(): Promise<void> }>,
): void {
  describe(`PushStateStore contract: ${name}`, () => {
    let store: PushStateStore;
    let close: () => Promise<void>;
    let app: string;

    beforeEach(async () => {
      ({ store, close } = await open());
      app = uniqueId('app');
    });
    afterEach(() => close());

    it('records acknowledgements per app, user and message', async () => {
      expect(await store.isAcked(app, 'u1', 'm1')).toBe(false);
      await store.ack(app, 'u1', 'm1', 60_000);
      expect(await store.isAcked(app, 'u1', 'm1')).toBe(true);
      expect(await store.isAcked(app, 'u2', 'm1')).toBe(false);
      expect(await store.isAcked(app, 'u1', 'm2')).toBe(false);
      expect(await store.isAcked(`${app}-other`, 'u1', 'm1')).toBe(false);
    });

    it('claims a (message, device) pair once; a sent pair stays sent', async () => {
      expect(await store.begin(app, 'm1', 'apns:aa', 60_000)).toBe('claimed');
      expect(await store.begin(app, 'm1', 'apns:aa', 60_000)).toBe('busy');
      expect(await store.begin(app, 'm1', 'apns:bb', 60_000)).toBe('claimed');
      expect(await store.begin(`${app}-other`, 'm1', 'apns:aa', 60_000)).toBe('claimed');
      await store.markSent(app, 'm1', 'apns:aa', 60_000);
      expect(await store.begin(app, 'm1', 'apns:aa', 60_000)).toBe('sent');
      await store.release(app, 'm1', 'apns:aa');
      expect(await store.begin(app, 'm1', 'apns:aa', 60_000)).toBe('sent');
    });

    it('lets a released claim be claimed again, and concurrent begins claim exactly once', async () => {
      expect(await store.begin(app, 'm2', 'fcm:t', 60_000)).toBe('claimed');
      await store.release(app, 'm2', 'fcm:t');
      const all = await Promise.all([1, 2, 3, 4, 5].map(() => store.begin(app, 'm2', 'fcm:t', 60_000)));
      expect(all.filter((x) => x === 'claimed')).toHaveLength(1);
    });

    it('lets an expired claim be taken over', async () => {
      expect(await store.begin(app, 'm3', 'fcm:t', 30)).toBe('claimed');
      const deadline = Date.now() + 2000;
      let again: string = 'busy';
      // Bounded: the claim expires 30 ms after it was taken.
      while (again === 'busy' && Date.now() < deadline) {
        await new Promise<void>((r) => setTimeout(r, 20));
        again = await store.begin(app, 'm3', 'fcm:t', 60_000);
      }
      expect(again).toBe('claimed');
    });

    describe('parked jobs', () => {
      // Due times far in the past and future of a fixed "now": runs sharing one Redis see each
      // other's due apps, so each test only asserts about its own app's jobs.
      const NOW = 5_000_000_000_000;

      it('hands out only due jobs, each app its own, in due order; the rest stay parked', async () => {
        const other = `${app}-other`;
        await store.park(app, 'later', NOW + 30_000, 'job-later');
        await store.park(app, 'b', NOW - 10, 'job-b');
        await store.park(app, 'a', NOW - 20, 'job-a');
        await store.park(other, 'a', NOW - 5, 'other-a');
        expect(await store.listParked(app, 10)).toEqual([
          { id: 'a', dueAt: NOW - 20 },
          { id: 'b', dueAt: NOW - 10 },
          { id: 'later', dueAt: NOW + 30_000 },
        ]);
        const claimed = (await store.claimDue(NOW, 1000, 60_000)).filter(
          (c) => c.appId === app || c.appId === other,
        );
        const mine = claimed.filter((c) => c.appId === app);
        expect(mine.map((c) => [c.id, c.job])).toEqual([
          ['a', 'job-a'],
          ['b', 'job-b'],
        ]);
        expect(claimed.find((c) => c.appId === other)).toMatchObject({ id: 'a', job: 'other-a' });
        for (const c of mine) expect(c.lease).toBe(NOW + 60_000);
        // Claimed jobs are not handed out again while their lease runs.
        const again = await store.claimDue(NOW + 1000, 1000, 60_000);
        expect(again.filter((c) => c.appId === app)).toEqual([]);
        for (const c of claimed) await store.unpark(c.appId, c.id, c.lease);
        expect(await store.listParked(app, 10)).toEqual([{ id: 'later', dueAt: NOW + 30_000 }]);
        expect(await store.listParked(other, 10)).toEqual([]);
        // The later job becomes due at its time, not before.
        expect((await store.claimDue(NOW + 29_999, 1000, 60_000)).filter((c) => c.appId === app)).toEqual([]);
        const late = (await store.claimDue(NOW + 30_000, 1000, 60_000)).filter((c) => c.appId === app);
        expect(late.map((c) => c.id)).toEqual(['later']);
      });

      it('claims each due job exactly once among concurrent claimers', async () => {
        for (let i = 0; i < 20; i++) await store.park(app, `j${i}`, NOW - 1000 + i, `job${i}`);
        const rounds = await Promise.all([1, 2, 3, 4, 5].map(() => store.claimDue(NOW, 1000, 60_000)));
        const ids = rounds
          .flat()
          .filter((c) => c.appId === app)
          .map((c) => c.id);
        expect(ids.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `j${i}`).sort());
      });

      it('hands a claimed job out again after its lease when the claimer never unparked it', async () => {
        await store.park(app, 'x', NOW - 1, 'job-x');
        const [first] = (await store.claimDue(NOW, 1000, 5000)).filter((c) => c.appId === app);
        expect(first).toMatchObject({ id: 'x', lease: NOW + 5000 });
        expect((await store.claimDue(NOW + 4999, 1000, 5000)).filter((c) => c.appId === app)).toEqual([]);
        const [second] = (await store.claimDue(NOW + 5000, 1000, 5000)).filter((c) => c.appId === app);
        expect(second).toMatchObject({ id: 'x', job: 'job-x', lease: NOW + 10_000 });
        // The first claim's unpark is stale and leaves the job; the current one removes it.
        await store.unpark(app, 'x', first.lease);
        expect(await store.listParked(app, 10)).toHaveLength(1);
        await store.unpark(app, 'x', second.lease);
        expect(await store.listParked(app, 10)).toEqual([]);
      });

      it('replaces a job parked again under the same id, and honours the limit', async () => {
        await store.park(app, 'same', NOW - 5, 'v1');
        await store.park(app, 'same', NOW - 3, 'v2');
        await store.park(app, 'two', NOW - 4, 'v3');
        expect(await store.listParked(app, 10)).toEqual([
          { id: 'two', dueAt: NOW - 4 },
          { id: 'same', dueAt: NOW - 3 },
        ]);
        expect(await store.listParked(app, 1)).toEqual([{ id: 'two', dueAt: NOW - 4 }]);
        const one = await store.claimDue(NOW, 1, 60_000);
        expect(one).toHaveLength(1);
        const rest = (await store.claimDue(NOW, 1000, 60_000)).filter((c) => c.appId === app);
        const all = [...one.filter((c) => c.appId === app), ...rest];
        expect(all.map((c) => c.job).sort()).toEqual(['v2', 'v3']);
      });
    });
  });
}
