export * from './logger.js';
export * from './observability.module.js';
export * from './metrics.js';
export * from './process-metrics.js';
