import type { IdempotencyStore } from '@herald/state';
import { uniqueId } from '../unique-id.js';
import { type ContractFixture, expirePast, SLOW_TEST_MS, TTL_MS } from './fixture.js';

export interface IdempotencyStoreFixture extends ContractFixture {
  store: IdempotencyStore;
}

/** The IdempotencyStore guarantees (libs/state/src/idempotency-store.ts), for every driver. */
export function idempotencyStoreContract(name: string, setup: () => Promise<IdempotencyStoreFixture>): void {
  describe(`IdempotencyStore contract: ${name}`, () => {
    let fx: IdempotencyStoreFixture;
    let store: IdempotencyStore;
    let app: string;
    const LONG = 60_000;

    beforeEach(async () => {
      fx = await setup();
      store = fx.store;
      app = uniqueId('app');
    });
    afterEach(async () => {
      await fx.teardown();
    });

    it('claims a new key, reports pending until complete, then the stored result', async () => {
      expect(await store.claim(app, 'k', LONG)).toEqual({ status: 'claimed' });
      expect(await store.claim(app, 'k', LONG)).toEqual({ status: 'pending' });
      const result = JSON.stringify({ id: 'm1', offset: 7, text: 'ünï ✓' });
      await store.complete(app, 'k', result, LONG);
      expect(await store.claim(app, 'k', LONG)).toEqual({ status: 'done', result });
      expect(await store.claim(app, 'k', LONG)).toEqual({ status: 'done', result });
    });

    it('gives exactly one of 50 concurrent claims `claimed`, the rest `pending`', async () => {
      const results = await Promise.all(Array.from({ length: 50 }, () => store.claim(app, 'k', LONG)));
      expect(results.filter((r) => r.status === 'claimed')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'pending')).toHaveLength(49);
    });

    it('release lets a retry claim again', async () => {
      await store.claim(app, 'k', LONG);
      await store.release(app, 'k');
      expect(await store.claim(app, 'k', LONG)).toEqual({ status: 'claimed' });
    });

    it('release leaves a completed result in place', async () => {
      await store.claim(app, 'k', LONG);
      await store.complete(app, 'k', 'r', LONG);
      await store.release(app, 'k');
      expect(await store.claim(app, 'k', LONG)).toEqual({ status: 'done', result: 'r' });
    });

    it('a later complete replaces the stored result', async () => {
      await store.claim(app, 'k', LONG);
      await store.complete(app, 'k', 'checkpoint', LONG);
      await store.complete(app, 'k', 'final', LONG);
      expect(await store.claim(app, 'k', LONG)).toEqual({ status: 'done', result: 'final' });
    });

    it('release of an unknown key is a no-op', async () => {
      await expect(store.release(app, 'missing')).resolves.toBeUndefined();
    });

    it(
      'lets a claim lapse after ttlMs so the key can be claimed again',
      async () => {
        await store.claim(app, 'k', TTL_MS);
        if (fx.clock) {
          fx.clock.advance(TTL_MS - 1);
          expect(await store.claim(app, 'k', TTL_MS)).toEqual({ status: 'pending' });
          fx.clock.advance(1);
        }
        // Polling claims: each one is `pending` until the first claim lapsed, then exactly one wins.
        await expirePast(fx, 0, async () => (await store.claim(app, 'k', LONG)).status === 'claimed');
        expect(await store.claim(app, 'k', LONG)).toEqual({ status: 'pending' });
      },
      SLOW_TEST_MS,
    );

    it(
      'keeps a result ttlMs after complete, whatever the claim TTL was',
      async () => {
        await store.claim(app, 'k', TTL_MS);
        await store.complete(app, 'k', 'r', 2 * TTL_MS);
        // A sentinel claimed after k with k's claim TTL: once it lapsed, k's claim TTL has too.
        await store.claim(app, 'sentinel', TTL_MS);
        await expirePast(
          fx,
          TTL_MS,
          async () => (await store.claim(app, 'sentinel', LONG)).status === 'claimed',
        );
        expect(await store.claim(app, 'k', LONG)).toEqual({ status: 'done', result: 'r' });
        await expirePast(fx, TTL_MS, async () => (await store.claim(app, 'k', LONG)).status === 'claimed');
      },
      SLOW_TEST_MS,
    );

    it('keeps apps apart with identical keys', async () => {
      const other = uniqueId('app');
      await store.claim(app, 'k', LONG);
      await store.complete(app, 'k', 'mine', LONG);
      expect(await store.claim(other, 'k', LONG)).toEqual({ status: 'claimed' });
      await store.release(other, 'k');
      expect(await store.claim(app, 'k', LONG)).toEqual({ status: 'done', result: 'mine' });
    });
  });
}
