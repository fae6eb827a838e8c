import type { TicketStore } from '@herald/state';
import { uniqueId } from '../unique-id.js';
import { type ContractFixture, elapse, SLOW_TEST_MS, TTL_MS } from './fixture.js';

export interface TicketStoreFixture extends ContractFixture {
  store: TicketStore;
}

/** The TicketStore guarantees (libs/state/src/ticket-store.ts), for every driver. */
export function ticketStoreContract(name: string, setup: () => Promise<TicketStoreFixture>): void {
  describe(`TicketStore contract: ${name}`, () => {
    let fx: TicketStoreFixture;
    let store: TicketStore;
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

    it('returns the payload once, then never again', async () => {
      const payload = JSON.stringify({ sub: 'u1', info: { name: 'Zoë' } });
      await store.put(app, 't1', payload, LONG);
      expect(await store.take(app, 't1')).toBe(payload);
      expect(await store.take(app, 't1')).toBeUndefined();
    });

    it('returns undefined for an unknown ticket', async () => {
      expect(await store.take(app, 'nope')).toBeUndefined();
    });

    it('hands the payload to exactly one of 50 concurrent takers', async () => {
      await store.put(app, 't1', 'p', LONG);
      const results = await Promise.all(Array.from({ length: 50 }, () => store.take(app, 't1')));
      expect(results.filter((r) => r === 'p')).toHaveLength(1);
      expect(results.filter((r) => r === undefined)).toHaveLength(49);
    });

    it(
      'never returns a ticket after ttlMs',
      async () => {
        await store.put(app, 'early', 'p', TTL_MS);
        await store.put(app, 'late', 'p', TTL_MS);
        if (fx.clock) {
          fx.clock.advance(TTL_MS - 1);
          expect(await store.take(app, 'early')).toBe('p');
        }
        // Taking is the only probe and it consumes the ticket: so wait out the TTL itself.
        await elapse(fx, fx.clock ? 1 : TTL_MS + 50);
        expect(await store.take(app, 'late')).toBeUndefined();
      },
      SLOW_TEST_MS,
    );

    it('keeps tickets of one app invisible to another', async () => {
      const other = uniqueId('app');
      await store.put(app, 't1', 'mine', LONG);
      expect(await store.take(other, 't1')).toBeUndefined();
      expect(await store.take(app, 't1')).toBe('mine');
    });
  });
}
