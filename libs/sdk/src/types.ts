import type { ClientInfo, ErrorBody, Publication, ReconnectAdvice, StreamPosition } from '@herald/protocol';
import type { BackoffOptions } from './backoff.js';
import type { EventSourceConstructor, FetchLike, WebSocketConstructor } from './platform.js';
import type { TransportName } from './transports.js';

export type { TransportName } from './transports.js';

export interface HeraldOptions {
  /** The node's base URL: `https://rt.example.com` (ws/wss is derived for WebSocket). */
  url: string;
  /** The app's public client key. */
  key: string;
  /** A connection JWT. With `getToken` too, used first. */
  token?: string;
  /** Fetches a fresh connection token from the application backend: at start, before `expires`, after 3003. */
  getToken?: () => Promise<string>;
  /** A single-use ticket (WebSocket only); later connects use the token. */
  ticket?: string;
  /** Transports in order of preference. Default: websocket, sse, poll. */
  transports?: TransportName[];
  WebSocket?: WebSocketConstructor;
  EventSource?: EventSourceConstructor;
  fetch?: FetchLike;
  backoff?: BackoffOptions;
  /** A connection that stayed up this long resets the backoff. Default 30 s. */
  backoffResetMs?: number;
  /**
   * How long one transport may take to connect (upgrade or stream plus the connect result) before
   * it is given up and the next transport is tried, as if it had been refused. Default 10 s; 0
   * disables the timeout.
   */
  timeoutMs?: number;
  /** Client name sent in `connect` (informational). */
  name?: string;
  /**
   * Acknowledge user-addressed publications that carry an `id` as soon as they are delivered
   * (default true), for the server's `unacked` push policy. With false, call `client.ack(id)` when
   * the message was really shown.
   */
  autoAck?: boolean;
}

export type ClientState = 'disconnected' | 'connecting' | 'connected';

export interface ConnectingEvent {
  /** The code that ended the previous connection, when this is a reconnect. */
  code?: number;
  reason?: string;
  transport: TransportName;
}
export interface ConnectedEvent {
  client: string;
  user: string;
  transport: TransportName;
  expires?: number;
}
export interface DisconnectedEvent {
  code: number;
  reason: string;
  /** Whether the client will reconnect by itself. */
  reconnect: boolean;
  /** The server's reconnect advice, when it sent one: the client waits at least `delay_ms` (plus jitter). */
  advice?: ReconnectAdvice;
}
export interface ErrorEvent {
  type: 'transport' | 'connect' | 'refresh' | 'token' | 'subscribe';
  error: Error;
}
/** A publication delivered on a server-side subscription (personal channel, token `channels`). */
export interface ServerPublicationEvent extends PublicationEvent {
  channel: string;
}

export interface ClientEvents {
  state: { state: ClientState };
  connecting: ConnectingEvent;
  connected: ConnectedEvent;
  disconnected: DisconnectedEvent;
  error: ErrorEvent;
  publication: ServerPublicationEvent;
  /** A connection token was refreshed (new expiry). */
  refreshed: { expires?: number };
}

export interface PublicationEvent extends Publication {
  channel: string;
}
export interface SubscribedEvent {
  channel: string;
  recoverable: boolean;
  /** Whether the subscribe asked to recover (a resubscribe after a disconnect). */
  wasRecovering: boolean;
  /**
   * After a resubscribe: true when every missed publication was delivered; false when some were
   * lost (epoch changed, gap beyond history, no history): resync from the source of truth.
   */
  recovered: boolean;
  position?: StreamPosition;
}
export interface UnsubscribedEvent {
  channel: string;
  code: number;
  reason: string;
}
export interface SubscriptionEvents {
  publication: PublicationEvent;
  join: { channel: string; info: ClientInfo };
  leave: { channel: string; info: ClientInfo };
  subscribed: SubscribedEvent;
  subscribing: { channel: string };
  unsubscribed: UnsubscribedEvent;
  error: { channel: string; error: HeraldRequestError };
}

export interface SubscriptionOptions {
  /** Subscription token for private namespaces; called at each (re)subscribe and before expiry. */
  getToken?: (channel: string) => Promise<string>;
}

/** A command failed: the server's error code and message (docs/errors.md). */
export class HeraldRequestError extends Error {
  readonly code: number;
  readonly temporary: boolean;
  constructor(body: ErrorBody) {
    super(body.message);
    this.name = 'HeraldRequestError';
    this.code = body.code;
    this.temporary = body.temporary === true;
  }
}
