export * from './ports.module.js';
export * from './bootstrap.js';
