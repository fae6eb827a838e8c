export * from './codes.js';
export * from './frames.js';
export * from './channel.js';
export * from './codec.js';
export * from './errors-doc.js';
