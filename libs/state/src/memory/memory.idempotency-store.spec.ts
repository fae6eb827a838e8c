import { idempotencyStoreContract, ManualClock } from '@herald/testing';
import { MemoryIdempotencyStore } from './memory.idempotency-store.js';

idempotencyStoreContract('MemoryIdempotencyStore', async () => {
  const clock = new ManualClock();
  const store = new MemoryIdempotencyStore({ now: clock.now, sweepIntervalMs: 0 });
  return { store, clock, teardown: async () => store.close() };
});

idempotencyStoreContract('MemoryIdempotencyStore on real time', async () => {
  const store = new MemoryIdempotencyStore();
  return { store, teardown: async () => store.close() };
});

describe('MemoryIdempotencyStore', () => {
  it('frees expired keys on sweep', async () => {
    const clock = new ManualClock();
    const store = new MemoryIdempotencyStore({ now: clock.now, sweepIntervalMs: 0 });
    await store.claim('a', 'k1', 100);
    await store.complete('b', 'k2', 'r', 200);
    clock.advance(100);
    store.sweep();
    expect(store.size).toBe(1);
    clock.advance(100);
    store.sweep();
    expect(store.size).toBe(0);
    store.close();
  });
});
