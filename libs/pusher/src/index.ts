export * from './pusher-codes.js';
export * from './channels.js';
export * from './signatures.js';
export * from './pusher-format.js';
export * from './pusher.transport.js';
export * from './pusher.endpoint.js';
export * from './pusher-http.controller.js';
export * from './pusher.module.js';
