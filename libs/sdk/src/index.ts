export { Herald, Subscription } from './client.js';
export {
  backoffCeiling,
  backoffDelay,
  reconnectDelay,
  DEFAULT_BACKOFF,
  type BackoffOptions,
} from './backoff.js';
export { TypedEmitter, type Listener } from './emitter.js';
export type * from './platform.js';
export type { TransportName } from './transports.js';
export * from './types.js';
export { DisconnectCode, ErrorCode, shouldReconnect } from '@herald/protocol';
export type { ClientInfo, Publication, ReconnectAdvice, StreamPosition } from '@herald/protocol';
