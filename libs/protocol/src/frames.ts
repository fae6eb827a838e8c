/**
 * Herald native protocol v1: JSON frames. Specified for humans in docs/protocol.md.
 *
 * Client → server frames are commands with an `id` (a positive integer the client chooses, echoed
 * in the reply) and a `cmd` tag; `pong` answers a server ping and has no id. Server → client
 * frames are either replies (`id` plus `result` or `error`) or pushes (`push` tag, no id).
 * Several frames may travel in one WebSocket message or HTTP body, separated by "\n".
 */

/** A position in a channel's stream: `offset` of the last publication seen, `epoch` of the stream. */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

export interface ClientInfo {
  /** User id (the token's `sub`). */
  user: string;
  /** Connection (client) id, unique across the cluster. */
  client: string;
  /** The token's `info` claim (presence data), if any. */
  info?: unknown;
}

export interface Publication {
  /** Present on channels with history: the publication's place in the stream. */
  offset?: number;
  /**
   * Message id, present on user-addressed messages published with a `push` section: acknowledge it
   * with the `ack` command (the SDK does so automatically), so the `unacked` push policy sends no push.
   */
  id?: string;
  data: unknown;
  /** Present when a client published it. */
  info?: ClientInfo;
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

export interface ConnectCommand {
  id: number;
  cmd: 'connect';
  /** Connection JWT. Exactly one of token and ticket. */
  token?: string;
  /** Single-use ticket minted by POST /v1/apps/{app}/tickets. */
  ticket?: string;
  /** Recovery positions for server-side subscriptions (from the token's `channels` claim). */
  subs?: Record<string, { recover?: StreamPosition }>;
  name?: string;
  version?: string;
}

export interface SubscribeCommand {
  id: number;
  cmd: 'subscribe';
  channel: string;
  /** Subscription token, required for private namespaces. */
  token?: string;
  /** Recover from this position: every publication after it is returned, or recovered=false. */
  recover?: StreamPosition;
}

export interface UnsubscribeCommand {
  id: number;
  cmd: 'unsubscribe';
  channel: string;
}

export interface PublishCommand {
  id: number;
  cmd: 'publish';
  channel: string;
  data: unknown;
}

export interface PresenceCommand {
  id: number;
  cmd: 'presence';
  channel: string;
}

export interface PresenceStatsCommand {
  id: number;
  cmd: 'presence_stats';
  channel: string;
}

export interface HistoryCommand {
  id: number;
  cmd: 'history';
  channel: string;
  /** 0 returns only the current stream position; omitted or -1 means "as many as allowed". */
  limit?: number;
  /** Return publications after this position. */
  since?: StreamPosition;
  reverse?: boolean;
}

export interface RefreshCommand {
  id: number;
  cmd: 'refresh';
  token: string;
}

export interface SubRefreshCommand {
  id: number;
  cmd: 'sub_refresh';
  channel: string;
  token: string;
}

/** Acknowledges a user-addressed message (Publication `id`) for the `unacked` push policy. */
export interface AckCommand {
  id: number;
  cmd: 'ack';
  message: string;
}

export interface PongCommand {
  cmd: 'pong';
}

export type Command =
  | ConnectCommand
  | SubscribeCommand
  | UnsubscribeCommand
  | PublishCommand
  | PresenceCommand
  | PresenceStatsCommand
  | HistoryCommand
  | RefreshCommand
  | SubRefreshCommand
  | AckCommand
  | PongCommand;

export type CommandName = Command['cmd'];
export type RequestCommand = Exclude<Command, PongCommand>;

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

export interface SubscribeResult {
  /** Whether the channel keeps history (offsets, recovery). */
  recoverable: boolean;
  /** Current stream position, for recoverable channels. */
  offset?: number;
  epoch?: string;
  /** Present when the subscribe asked to recover. */
  recovered?: boolean;
  /** Missed publications, in offset order, when recovering. */
  publications?: Publication[];
}

export interface ConnectResult {
  client: string;
  user: string;
  /** Unix seconds when the connection token expires; refresh before. Absent: never. */
  expires?: number;
  /** Server sends `ping` this often (seconds) and expects `pong` within `pong_timeout`. */
  ping: number;
  pong_timeout: number;
  /** Server-side subscriptions (token `channels` claim, personal channel). */
  subs: Record<string, SubscribeResult>;
  node: string;
  version: string;
}

export interface PublishResult {
  offset?: number;
  epoch?: string;
}

export interface PresenceResult {
  members: ClientInfo[];
}

export interface PresenceStatsResult {
  num_clients: number;
  num_users: number;
}

export interface HistoryResult {
  publications: Publication[];
  offset: number;
  epoch: string;
}

export interface RefreshResult {
  client: string;
  expires?: number;
}

export interface CommandResultMap {
  connect: ConnectResult;
  subscribe: SubscribeResult;
  unsubscribe: Record<string, never>;
  publish: PublishResult;
  presence: PresenceResult;
  presence_stats: PresenceStatsResult;
  history: HistoryResult;
  refresh: RefreshResult;
  sub_refresh: { expires?: number };
  ack: Record<string, never>;
}

export interface ErrorBody {
  code: number;
  message: string;
  /** True when the same command may succeed later (e.g. rate limits). */
  temporary?: boolean;
}

export type Reply =
  { id: number; result: CommandResultMap[keyof CommandResultMap] } | { id: number; error: ErrorBody };

// ---------------------------------------------------------------------------------------------
// Pushes
// ---------------------------------------------------------------------------------------------

export interface PubPush {
  push: 'pub';
  channel: string;
  pub: Publication;
}
export interface JoinPush {
  push: 'join';
  channel: string;
  info: ClientInfo;
}
export interface LeavePush {
  push: 'leave';
  channel: string;
  info: ClientInfo;
}
/** Reserved: a server-side subscription added to a live connection (same fields as a subscribe result). */
export interface SubPush extends SubscribeResult {
  push: 'sub';
  channel: string;
}
/** The server removed a subscription (e.g. unsubscribe user API). */
export interface UnsubPush {
  push: 'unsub';
  channel: string;
  code: number;
  reason: string;
}
/**
 * The last event on transports that have no close code of their own (SSE, polling). Over WebSocket
 * the same code and reason travel in the close frame instead.
 */
export interface DisconnectPush {
  push: 'disconnect';
  code: number;
  reason: string;
  reconnect: boolean;
  /** The error that caused it, when a request failed before the session existed (e.g. a bad token). */
  error?: ErrorBody;
  /** How to come back, when the server has advice beyond the code (docs/protocol.md §5 disconnect). */
  advice?: ReconnectAdvice;
}
/**
 * Reconnect advice on a `disconnect` push (optional; clients that do not know it ignore it). A
 * draining node sends it so that its clients come back through the load balancer after it has
 * stopped routing here, instead of at once to the node that is going away.
 */
export interface ReconnectAdvice {
  /** Wait at least this long (ms) before reconnecting; add the usual jitter on top. */
  delay_ms: number;
}
export interface PingPush {
  push: 'ping';
}
/**
 * The first event of the HTTP transports (SSE, long-poll), which run `connect` themselves from the
 * request's token and channels: the connect result, plus what the session endpoint needs.
 */
export interface ConnectPush extends ConnectResult {
  push: 'connect';
  /** Credential for `POST /connection/session/{client}` and for polls: `Bearer <session>`. */
  session: string;
  /** Channels the request asked for that could not be subscribed, with the reason. */
  errors?: Record<string, ErrorBody>;
}

export type Push =
  PubPush | JoinPush | LeavePush | SubPush | UnsubPush | DisconnectPush | PingPush | ConnectPush;
export type ServerFrame = Reply | Push;

export const PROTOCOL_VERSION = 1;
