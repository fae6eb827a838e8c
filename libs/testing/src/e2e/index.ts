export * from './test-client.js';
export * from './test-node.js';
export * from './rest-client.js';
export * from './raw-ws.js';
export * from './tokens.js';
export * from './http-transports.js';
