import { pushStateStoreContract } from '@herald/testing';
import { MemoryPushStateStore } from './memory.push-state-store.js';

pushStateStoreContract('memory', async () => ({
  store: new MemoryPushStateStore(),
  close: async () => undefined,
}));
