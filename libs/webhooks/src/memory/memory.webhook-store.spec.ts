import { webhookStoreContract } from '@herald/testing';
import { MemoryWebhookStore } from './memory.webhook-store.js';

webhookStoreContract('MemoryWebhookStore', () => {
  const store = new MemoryWebhookStore();
  // One process: a second dispatcher (or a restart) over a durable store is the same instance.
  return Promise.resolve({ store, another: () => Promise.resolve(store), teardown: () => Promise.resolve() });
});
