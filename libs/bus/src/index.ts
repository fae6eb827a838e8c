export * from './bus.js';
export * from './bus.module.js';
export * from './memory/memory.bus.js';
export * from './kafka/kafka.bus.js';
