import { ManualClock, revocationStoreContract } from '@herald/testing';
import { MemoryRevocationStore } from './memory.revocation-store.js';

revocationStoreContract('MemoryRevocationStore', async () => {
  const clock = new ManualClock();
  const store = new MemoryRevocationStore({ now: clock.now, sweepIntervalMs: 0 });
  return { store, clock, teardown: async () => store.close() };
});

revocationStoreContract('MemoryRevocationStore on real time', async () => {
  const store = new MemoryRevocationStore();
  return { store, teardown: async () => store.close() };
});

describe('MemoryRevocationStore', () => {
  it('frees expired revocations on sweep', async () => {
    const clock = new ManualClock();
    const store = new MemoryRevocationStore({ now: clock.now, sweepIntervalMs: 0 });
    await store.revokeToken('a', 'j', 100);
    await store.revokeUser('a', 'u', 1, 100);
    expect(store.size).toBe(2);
    clock.advance(100);
    store.sweep();
    expect(store.size).toBe(0);
    store.close();
  });
});
