import { ManualClock, ticketStoreContract } from '@herald/testing';
import { MemoryTicketStore } from './memory.ticket-store.js';

ticketStoreContract('MemoryTicketStore', async () => {
  const clock = new ManualClock();
  const store = new MemoryTicketStore({ now: clock.now, sweepIntervalMs: 0 });
  return { store, clock, teardown: async () => store.close() };
});

ticketStoreContract('MemoryTicketStore on real time', async () => {
  const store = new MemoryTicketStore();
  return { store, teardown: async () => store.close() };
});

describe('MemoryTicketStore', () => {
  it('frees expired tickets on sweep', async () => {
    const clock = new ManualClock();
    const store = new MemoryTicketStore({ now: clock.now, sweepIntervalMs: 0 });
    for (let i = 0; i < 10; i++) await store.put('a', `t${i}`, 'p', 100);
    expect(store.size).toBe(10);
    clock.advance(100);
    store.sweep();
    expect(store.size).toBe(0);
    store.close();
  });
});
