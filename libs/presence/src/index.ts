export * from './presence-registry.js';
export * from './presence.module.js';
export * from './memory/memory.presence-registry.js';
export * from './redis/redis.presence-registry.js';
export * from './node-directory.js';
export * from './memory/memory.node-directory.js';
export * from './redis/redis.node-directory.js';
