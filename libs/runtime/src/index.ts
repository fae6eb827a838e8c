export * from './ports.module.js';
export * from './bootstrap.js';
export * from './http2.js';
