export * from './history-store.js';
export * from './history.module.js';
export * from './memory/memory.history-store.js';
export * from './redis/redis.history-store.js';
