import { occupancyCounterContract, webhookStoreContract } from '@herald/testing';
import { MemoryOccupancyCounter } from './memory.occupancy-counter.js';
import { MemoryWebhookStore } from './memory.webhook-store.js';

webhookStoreContract('MemoryWebhookStore', () => {
  const store = new MemoryWebhookStore();
  // One process: a second dispatcher (or a restart) over a durable store is the same instance.
  return Promise.resolve({ store, another: () => Promise.resolve(store), teardown: () => Promise.resolve() });
});

occupancyCounterContract('MemoryOccupancyCounter', () => {
  const counter = new MemoryOccupancyCounter();
  return Promise.resolve({
    counter,
    another: () => Promise.resolve(counter),
    teardown: () => Promise.resolve(),
  });
});
