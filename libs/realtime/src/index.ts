export * from './ws.transport.js';
export * from './ws.adapter.js';
export * from './websocket.endpoint.js';
export * from './realtime.module.js';
