import type { QueuedEvent, WebhookEvent, WebhookStore } from '@herald/webhooks';
import { uniqueId } from '../unique-id.js';

export interface WebhookStoreFixture {
  store: WebhookStore;
  /** Another store instance on the same data (a second dispatcher replica, or the same one restarted). */
  another?(): Promise<WebhookStore>;
  teardown(): Promise<void>;
}

const T0 = 1_700_000_000_000;
const LEASE = 10_000;

/**
 * The WebhookStore guarantees (libs/webhooks/src/webhook-store.ts), for every driver. Time is
 * passed explicitly to every call, so no clock is needed; stats are store-wide, so every test gets
 * a fresh store from `setup`.
 */
export function webhookStoreContract(name: string, setup: () => Promise<WebhookStoreFixture>): void {
  describe(`WebhookStore contract: ${name}`, () => {
    let fx: WebhookStoreFixture;
    let store: WebhookStore;
    let app: string;
    let seq = 0;
    let ids = 0;
    const newId = () => `msg_${++ids}`;
    const batching = (maxEvents = 10, maxBytes = 1_000_000) => ({ maxEvents, maxBytes, newId });

    function ev(n: number, channel = 'ch'): WebhookEvent {
      return { id: `evt_${++seq}_${n}`, name: 'client_event', channel, data: { n }, time_ms: T0 };
    }
    function q(appId: string, endpointId: string, e: WebhookEvent, at = T0, bytes = 10): QueuedEvent {
      return { appId, endpointId, event: e, queuedAt: at, bytes };
    }
    const nums = (events: QueuedEvent[]) => events.map((e) => (e.event.data as { n: number }).n);

    // A database per test: the first PGlite one builds its template (initdb in WASM, seconds).
    beforeEach(async () => {
      fx = await setup();
      store = fx.store;
      app = uniqueId('app');
    }, 60_000);
    afterEach(async () => {
      await fx.teardown();
    }, 30_000);

    it('fairness: one app gets at most its share of a claim, round-robin across apps', async () => {
      const other = `${app}-b`;
      // `app` has four due endpoints, `other` one; `app` already has one delivery in flight.
      for (const e of ['e1', 'e2', 'e3', 'e4']) await store.enqueue(q(app, e, ev(1)), 100);
      await store.enqueue(q(other, 'e1', ev(2)), 100);
      const fairness = { perApp: 3, inflight: new Map([[app, 1]]) };
      // Two slots: one per app (round-robin), although `app` sorts first and has more due.
      const first = await store.claim('o', T0, LEASE, 2, batching(), fairness);
      expect(first.map((b) => b.appId).sort()).toEqual([app, other].sort());
      // Plenty of slots: `app` gets only what its share leaves (3 - 1 in flight - 1 just claimed).
      const inflight = new Map([
        [app, 2],
        [other, 1],
      ]);
      const second = await store.claim('o', T0, LEASE, 10, batching(), { perApp: 3, inflight });
      expect(second.map((b) => b.appId)).toEqual([app]);
      // Without fairness the rest is claimable.
      const rest = await store.claim('o', T0, LEASE, 10, batching());
      expect(rest).toHaveLength(2);
    });

    it('forms batches from the head of an endpoint queue, FIFO, bounded by events and bytes', async () => {
      for (let i = 0; i < 5; i++) expect(await store.enqueue(q(app, 'e1', ev(i)), 100)).toBe('queued');
      const [b1] = await store.claim('o', T0, LEASE, 10, batching(2));
      expect(nums(b1.events)).toEqual([0, 1]);
      expect(b1).toMatchObject({ appId: app, endpointId: 'e1', attempts: 0 });
      expect(b1.events[0].event).toEqual(expect.objectContaining({ name: 'client_event', channel: 'ch' }));
      await store.complete(b1, 'o');
      const [b2] = await store.claim('o', T0, LEASE, 10, batching(10, 25));
      expect(nums(b2.events)).toEqual([2, 3]);
      expect(b2.id).not.toBe(b1.id);
      await store.complete(b2, 'o');
      // A single event larger than maxBytes still goes, alone.
      await store.enqueue(q(app, 'e1', ev(9), T0, 500), 100);
      const [b3] = await store.claim('o', T0, LEASE, 10, batching(10, 100));
      expect(nums(b3.events)).toEqual([4]);
      await store.complete(b3, 'o');
      const [b4] = await store.claim('o', T0, LEASE, 10, batching(10, 100));
      expect(nums(b4.events)).toEqual([9]);
      await store.complete(b4, 'o');
      expect(await store.claim('o', T0, LEASE, 10, batching())).toEqual([]);
      expect(await store.nextDueAt(T0)).toBeUndefined();
      expect((await store.stats()).pending).toBe(0);
    });

    it('enqueue is idempotent per (endpoint, event id), also after delivery; other endpoints get their copy', async () => {
      const e = ev(1);
      expect(await store.enqueue(q(app, 'e1', e), 100)).toBe('queued');
      expect(await store.enqueue(q(app, 'e1', e), 100)).toBe('duplicate');
      expect(await store.enqueue(q(app, 'e2', e), 100)).toBe('queued');
      const batches = await store.claim('o', T0, LEASE, 10, batching());
      expect(batches).toHaveLength(2);
      for (const b of batches) await store.complete(b, 'o');
      expect(await store.enqueue(q(app, 'e1', e, T0 + 1000), 100)).toBe('duplicate');
      expect(await store.claim('o', T0 + 1000, LEASE, 10, batching())).toEqual([]);
    });

    it('beyond maxQueued an event is dead-lettered as overflow', async () => {
      await store.enqueue(q(app, 'e1', ev(1)), 2);
      await store.enqueue(q(app, 'e1', ev(2)), 2);
      expect(await store.enqueue(q(app, 'e1', ev(3)), 2)).toBe('overflow');
      const dead = await store.listDeadLetters(app, 10);
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ appId: app, endpointId: 'e1', reason: 'overflow', attempts: 0 });
      expect((dead[0].event.data as { n: number }).n).toBe(3);
    });

    it('leases an endpoint to one owner; an expired lease hands the same batch to the next claim', async () => {
      for (let i = 0; i < 3; i++) await store.enqueue(q(app, 'e1', ev(i)), 100);
      const [a] = await store.claim('A', T0, LEASE, 10, batching(2));
      expect(await store.claim('B', T0 + 1, LEASE, 10, batching(2))).toEqual([]);
      expect(await store.nextDueAt(T0 + 1)).toBe(T0 + LEASE);
      const [b] = await store.claim('B', T0 + LEASE, LEASE, 10, batching(2));
      expect(b.id).toBe(a.id);
      expect(nums(b.events)).toEqual([0, 1]);
      // A's late result no longer counts: B still holds the batch.
      await store.complete(a, 'A');
      await store.retry(a, 'A', T0, 'late');
      expect(await store.deadLetter(a, 'A', 'late', T0)).toEqual([]);
      expect(await store.listDeadLetters(app, 10)).toEqual([]);
      expect((await store.stats()).pending).toBe(3);
      await store.complete(b, 'B');
      const [c] = await store.claim('B', T0 + LEASE, LEASE, 10, batching(2));
      expect(nums(c.events)).toEqual([2]);
    });

    it('concurrent claims by two owners never lease one endpoint twice', async () => {
      const other = fx.another ? await fx.another() : store;
      for (let e = 0; e < 6; e++) await store.enqueue(q(app, `e${e}`, ev(e)), 100);
      const [x, y] = await Promise.all([
        store.claim('A', T0, LEASE, 4, batching()),
        other.claim('B', T0, LEASE, 4, batching()),
      ]);
      const endpoints = [...x, ...y].map((b) => b.endpointId);
      expect(new Set(endpoints).size).toBe(endpoints.length);
      expect(endpoints.length).toBeGreaterThanOrEqual(4);
      const rest = await other.claim('B', T0, LEASE, 10, batching());
      expect(endpoints.length + rest.length).toBe(6);
    });

    it('retry keeps the batch (same id, attempts, error) and makes it due at nextAttemptAt', async () => {
      await store.enqueue(q(app, 'e1', ev(1)), 100);
      const [b] = await store.claim('o', T0, LEASE, 10, batching());
      b.attempts = 1;
      await store.retry(b, 'o', T0 + 5000, 'HTTP 500');
      await store.enqueue(q(app, 'e1', ev(2)), 100);
      expect(await store.claim('o', T0 + 4999, LEASE, 10, batching())).toEqual([]);
      expect(await store.nextDueAt(T0 + 1)).toBe(T0 + 5000);
      const s = await store.stats();
      expect(s).toMatchObject({ pending: 2, retrying: 1, deadLetters: 0, oldestPendingAt: T0 });
      const [again] = await store.claim('p', T0 + 5000, LEASE, 10, batching());
      expect(again).toMatchObject({ id: b.id, attempts: 1, lastError: 'HTTP 500' });
      expect(nums(again.events)).toEqual([1]);
    });

    it('dead-letters a batch (or the whole endpoint), lists newest first, and replays in order', async () => {
      for (let i = 0; i < 4; i++) await store.enqueue(q(app, 'e1', ev(i)), 100);
      const [b] = await store.claim('o', T0, LEASE, 10, batching(1));
      b.attempts = 3;
      b.lastError = 'timeout';
      const moved = await store.deadLetter(b, 'o', 'retention_exceeded', T0 + 1);
      expect(moved).toEqual([
        expect.objectContaining({ appId: app, endpointId: 'e1', reason: 'retention_exceeded', attempts: 3 }),
      ]);
      const [c] = await store.claim('o', T0 + 1, LEASE, 10, batching(1));
      expect(nums(c.events)).toEqual([1]);
      const whole = await store.deadLetter(c, 'o', 'gone', T0 + 2, true);
      expect(whole.map((d) => (d.event.data as { n: number }).n)).toEqual([1, 2, 3]);
      expect(await store.claim('o', T0 + 2, LEASE, 10, batching())).toEqual([]);
      const dead = await store.listDeadLetters(app, 10);
      expect(dead.map((d) => (d.event.data as { n: number }).n)).toEqual([3, 2, 1, 0]);
      expect(dead[3]).toMatchObject({ reason: 'retention_exceeded', attempts: 3, lastError: 'timeout' });
      expect(dead[0].reason).toBe('gone');
      expect(await store.listDeadLetters(app, 2)).toHaveLength(2);
      expect((await store.stats()).deadLetters).toBe(4);

      expect(await store.replay(app, T0 + 10, [dead[1].event.id])).toBe(1);
      expect(await store.replay(app, T0 + 10)).toBe(3);
      expect(await store.listDeadLetters(app, 10)).toEqual([]);
      const [r] = await store.claim('o', T0 + 10, LEASE, 10, batching());
      // Replayed events keep their ids (receivers de-duplicate by them).
      expect(r.events.map((e) => e.event.id).sort()).toEqual(dead.map((d) => d.event.id).sort());
      expect(nums(r.events)).toEqual([2, 0, 1, 3]);
    });

    it('never shows or replays one app’s dead letters to another', async () => {
      const other = uniqueId('app');
      await store.enqueue(q(app, 'e1', ev(1)), 1);
      await store.enqueue(q(app, 'e1', ev(2)), 1);
      await store.enqueue(q(other, 'e1', ev(3)), 1);
      await store.enqueue(q(other, 'e1', ev(4)), 1);
      expect(await store.listDeadLetters(app, 10)).toHaveLength(1);
      expect(await store.replay(app, T0)).toBe(1);
      const dead = await store.listDeadLetters(other, 10);
      expect(dead.map((d) => d.appId)).toEqual([other]);
      expect(await store.replay(other, T0, [dead[0].event.id, 'evt_of_nobody'])).toBe(1);
    });

    it('disables and enables endpoints per app', async () => {
      expect(await store.isDisabled(app, 'e1')).toBe(false);
      await store.disableEndpoint(app, 'e1');
      expect(await store.isDisabled(app, 'e1')).toBe(true);
      expect(await store.isDisabled(uniqueId('app'), 'e1')).toBe(false);
      await store.enableEndpoint(app, 'e1');
      expect(await store.isDisabled(app, 'e1')).toBe(false);
    });

    it('keeps its state for another instance on the same data (a restarted dispatcher)', async () => {
      if (!fx.another) return;
      await store.enqueue(q(app, 'e1', ev(1)), 100);
      const [b] = await store.claim('dead', T0, LEASE, 10, batching());
      const next = await fx.another();
      expect(await next.claim('new', T0 + 1, LEASE, 10, batching())).toEqual([]);
      const [again] = await next.claim('new', T0 + LEASE, LEASE, 10, batching());
      expect(again.id).toBe(b.id);
      await next.complete(again, 'new');
      expect((await next.stats()).pending).toBe(0);
    });
  });
}
