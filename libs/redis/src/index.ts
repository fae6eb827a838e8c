export * from './redis-connection.js';
export * from './redis-script.js';
export * from './redis-lease.js';
