export * from './cluster.js';
export * from './process.js';
export * from './redis-instance.js';
export * from './kafka-instance.js';
