export * from './control-store.js';
export * from './memory/config.control-store.js';
export * from './namespaces.js';
export * from './control.module.js';
