import type { RevocationStore } from '@herald/state';
import { uniqueId } from '../unique-id.js';
import { type ContractFixture, expirePast, SLOW_TEST_MS, TTL_MS } from './fixture.js';

export interface RevocationStoreFixture extends ContractFixture {
  store: RevocationStore;
}

/** The RevocationStore guarantees (libs/state/src/revocation-store.ts), for every driver. */
export function revocationStoreContract(name: string, setup: () => Promise<RevocationStoreFixture>): void {
  describe(`RevocationStore contract: ${name}`, () => {
    let fx: RevocationStoreFixture;
    let store: RevocationStore;
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

    it('reports a revoked token id as revoked, others not', async () => {
      await store.revokeToken(app, 'jti-1', LONG);
      expect(await store.isTokenRevoked(app, 'jti-1')).toBe(true);
      expect(await store.isTokenRevoked(app, 'jti-2')).toBe(false);
    });

    it(
      'forgets a revoked token after ttlMs',
      async () => {
        await store.revokeToken(app, 'jti-1', TTL_MS);
        if (fx.clock) {
          fx.clock.advance(TTL_MS - 1);
          expect(await store.isTokenRevoked(app, 'jti-1')).toBe(true);
        }
        await expirePast(fx, fx.clock ? 0 : TTL_MS, async () => !(await store.isTokenRevoked(app, 'jti-1')));
      },
      SLOW_TEST_MS,
    );

    it('stores a user mark in seconds; unknown users have none', async () => {
      await store.revokeUser(app, 'u1', 1_700_000_000, LONG);
      expect(await store.userRevokedBefore(app, 'u1')).toBe(1_700_000_000);
      expect(await store.userRevokedBefore(app, 'u2')).toBeUndefined();
    });

    it('only moves a user mark later', async () => {
      await store.revokeUser(app, 'u1', 2000, LONG);
      await store.revokeUser(app, 'u1', 1000, LONG);
      expect(await store.userRevokedBefore(app, 'u1')).toBe(2000);
      await store.revokeUser(app, 'u1', 3000, LONG);
      expect(await store.userRevokedBefore(app, 'u1')).toBe(3000);
    });

    it(
      'forgets a user mark after ttlMs',
      async () => {
        await store.revokeUser(app, 'u1', 1000, TTL_MS);
        await expirePast(fx, TTL_MS, async () => (await store.userRevokedBefore(app, 'u1')) === undefined);
      },
      SLOW_TEST_MS,
    );

    it(
      'does not shorten a revocation when revoked again with a shorter ttl',
      async () => {
        await store.revokeToken(app, 'jti', LONG);
        await store.revokeToken(app, 'jti', TTL_MS);
        await store.revokeUser(app, 'u1', 1000, LONG);
        await store.revokeUser(app, 'u1', 2000, TTL_MS);
        // A sentinel with the short TTL, written last: once it is gone, the short TTLs have passed.
        await store.revokeToken(app, 'sentinel', TTL_MS);
        await expirePast(fx, TTL_MS, async () => !(await store.isTokenRevoked(app, 'sentinel')));
        expect(await store.isTokenRevoked(app, 'jti')).toBe(true);
        expect(await store.userRevokedBefore(app, 'u1')).toBe(2000);
      },
      SLOW_TEST_MS,
    );

    it('keeps apps apart with identical token ids and users', async () => {
      const other = uniqueId('app');
      await store.revokeToken(app, 'jti', LONG);
      await store.revokeUser(app, 'u1', 1000, LONG);
      expect(await store.isTokenRevoked(other, 'jti')).toBe(false);
      expect(await store.userRevokedBefore(other, 'u1')).toBeUndefined();
    });
  });
}
