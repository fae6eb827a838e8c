import type { AppConfig, NamespaceOptions } from '@herald/config';
import type { ClientInfo, DisconnectDef, ReconnectAdvice, StreamPosition } from '@herald/protocol';
import type { OutFrame } from './out-frame.js';
import { transportStats } from './core-stats.js';

export type TransportKind = 'websocket' | 'sse' | 'poll';

/**
 * A transport is a dumb pipe under a session (STYLE.md rule 6): it writes frames in its wire
 * format and closes; it never parses commands, never sees tenants and never authorizes.
 */
export interface Transport {
  readonly kind: TransportKind;
  /**
   * Queues one frame. Returns false when the bounded outbound queue would overflow; the
   * transport has then already begun closing the connection with the "slow" code.
   */
  send(frame: OutFrame): boolean;
  /**
   * Flushes what is queued, then closes with the code (a `disconnect` push where the wire needs it).
   * With `advice`, the `disconnect` push carries it on every transport (on WebSocket the push then
   * precedes the close frame, which has no room for it); transports may ignore it (Pusher).
   */
  close(def: DisconnectDef, reason?: string, advice?: ReconnectAdvice): void;
}

export interface SubscriptionState {
  namespace: NamespaceOptions;
  /** Unix seconds when the subscription token expires (private channels), if any. */
  expires?: number;
  /** Whether this subscription joined presence (so it must leave). */
  presence: boolean;
  /**
   * For channels with history: the stream position the subscription started at (the subscribe
   * result's offset and epoch), set once it is known. Transports that give clients resume tokens
   * (SSE ids, poll cursors) start from it; later positions come from OutFrame.pos.
   */
  position?: StreamPosition;
  /**
   * The presence identity of this subscription when it is not the session's own (the Pusher
   * protocol takes `user_id`/`user_info` from each presence channel's signed `channel_data`).
   */
  member?: ClientInfo;
}

export type SessionState = 'connecting' | 'connected' | 'closed';

const IDLE: Promise<void> = Promise.resolve();
let counter = 0;

/** Length of SESSION_NODE_TAG. */
export const SESSION_NODE_TAG_LENGTH = 6;

/**
 * Every session id created by this process begins with this tag (SESSION_NODE_TAG_LENGTH base-36
 * characters, random per process), so any node that receives a command for a session can tell
 * which process holds it: libs/realtime forwards HTTP session commands to the owner by it.
 */
export const SESSION_NODE_TAG = Math.random()
  .toString(36)
  .slice(2, 2 + SESSION_NODE_TAG_LENGTH)
  .padEnd(SESSION_NODE_TAG_LENGTH, '0');

/**
 * A client session: identity, subscriptions and liveness, independent of the transport that
 * carries it. Kept small on purpose: an idle connection must cost a few KiB at most.
 */
export class Session {
  readonly id: string;
  state: SessionState = 'connecting';
  user = '';
  info: unknown = undefined;
  /** Connection token expiry (unix seconds); 0 = none. */
  expires = 0;
  jti: string | undefined = undefined;
  iat: number | undefined = undefined;
  readonly subs = new Map<string, SubscriptionState>();
  readonly createdAt: number;
  lastPongAt: number;
  /** Serialises command processing so replies keep the order of commands (shared while idle). */
  chain: Promise<void> = IDLE;
  /** Lazily created per-connection publish bucket (tokens available, last refill ms). */
  publishTokens = -1;
  publishRefillAt = 0;
  closeReason: DisconnectDef | undefined = undefined;

  constructor(
    /** The app as of the last check (connect, refresh); replaced when the app changes. */
    public app: AppConfig,
    readonly transport: Transport,
    now: number,
    /** An id chosen by a protocol adapter (the Pusher socket id); default: SESSION_NODE_TAG-prefixed. */
    id?: string,
  ) {
    this.id = id ?? `${SESSION_NODE_TAG}${(++counter).toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    this.createdAt = now;
    this.lastPongAt = now;
  }

  get clientInfo(): ClientInfo {
    return this.info === undefined
      ? { user: this.user, client: this.id }
      : { user: this.user, client: this.id, info: this.info };
  }

  send(frame: OutFrame): boolean {
    if (this.state === 'closed') return false;
    // A publication that excludes its originating connection (Pusher `socket_id`, client events).
    if (frame.exclude === this.id) return true;
    const kind = this.transport.kind;
    if (this.transport.send(frame)) {
      transportStats.framesSent.add(kind);
      return true;
    }
    transportStats.framesDropped.add(kind);
    return false;
  }

  /**
   * Takes one token from the per-connection client-publish bucket (rate per second, burst 2x).
   * Inline rather than a TokenBucket object so idle sessions carry no extra allocation.
   */
  takePublishToken(perSecond: number, now: number): boolean {
    const burst = perSecond * 2;
    if (this.publishTokens < 0) {
      this.publishTokens = burst;
      this.publishRefillAt = now;
    }
    this.publishTokens = Math.min(
      burst,
      this.publishTokens + ((now - this.publishRefillAt) / 1000) * perSecond,
    );
    this.publishRefillAt = now;
    if (this.publishTokens < 1) return false;
    this.publishTokens -= 1;
    return true;
  }
}
