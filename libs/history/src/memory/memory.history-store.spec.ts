import { historyStoreContract, ManualClock } from '@herald/testing';
import { MemoryHistoryStore } from './memory.history-store.js';

historyStoreContract('MemoryHistoryStore', async () => {
  const clock = new ManualClock();
  const store = new MemoryHistoryStore({ now: clock.now, sweepIntervalMs: 0 });
  return { store, clock, teardown: async () => store.close() };
});

historyStoreContract(
  'MemoryHistoryStore on real time',
  async () => {
    const store = new MemoryHistoryStore();
    return { store, teardown: async () => store.close() };
  },
  { manualClock: false },
);

describe('MemoryHistoryStore', () => {
  it('drops expired streams on sweep, so memory stays bounded', async () => {
    const clock = new ManualClock();
    const store = new MemoryHistoryStore({ now: clock.now, sweepIntervalMs: 0 });
    for (let i = 0; i < 50; i++)
      await store.append('app', `ch${i}`, 'x', { size: 5, ttlMs: 100, metaTtlMs: 1000 });
    await store.position('app', 'read-only');
    expect(store.streamCount()).toBe(51);
    clock.advance(1000);
    store.sweep();
    expect(store.streamCount()).toBe(1); // the stream created by position() has the 1 h default
    clock.advance(3_600_000);
    store.sweep();
    expect(store.streamCount()).toBe(0);
    store.close();
  });

  it('keeps the newest entries when a channel’s size changes', async () => {
    const store = new MemoryHistoryStore({ sweepIntervalMs: 0 });
    for (let i = 1; i <= 5; i++) await store.append('app', 'ch', `v${i}`, { size: 5, ttlMs: 60_000 });
    await store.append('app', 'ch', 'v6', { size: 3, ttlMs: 60_000 });
    expect((await store.read('app', 'ch', {})).entries.map((e) => e.offset)).toEqual([4, 5, 6]);
    await store.append('app', 'ch', 'v7', { size: 10, ttlMs: 60_000 });
    expect((await store.read('app', 'ch', {})).entries.map((e) => e.offset)).toEqual([4, 5, 6, 7]);
    store.close();
  });

  it('skips an entry that expires before older ones (TTL changed between appends)', async () => {
    const clock = new ManualClock();
    const store = new MemoryHistoryStore({ now: clock.now, sweepIntervalMs: 0 });
    await store.append('app', 'ch', 'long', { size: 5, ttlMs: 10_000 });
    await store.append('app', 'ch', 'short', { size: 5, ttlMs: 100 });
    clock.advance(100);
    expect((await store.read('app', 'ch', {})).entries).toEqual([{ offset: 1, value: 'long' }]);
    store.close();
  });
});
