import { DisconnectCode, type DisconnectDef } from '@herald/protocol';

/**
 * The Pusher protocol's error codes, as Pusher documents them, with what Herald means by each.
 * They travel in `pusher:error` events and as WebSocket close codes on Pusher connections only;
 * native connections use libs/protocol's catalogue. Ranges decide what a client does:
 * - 4000–4099: do not reconnect with the same parameters;
 * - 4100–4199: reconnect after a backoff;
 * - 4200–4299: reconnect immediately;
 * - 4300–4399: an error event that does not close the connection.
 * `herald` names the native code with the same meaning, where there is one (docs/pusher.md).
 */
export interface PusherErrorDef {
  readonly code: number;
  readonly name: string;
  readonly message: string;
  /** Whether the connection is closed with this code (false: a `pusher:error` event only). */
  readonly closes: boolean;
  /** The native disconnect code with the same meaning, if any. */
  readonly herald?: DisconnectDef;
}

function p(code: number, name: string, message: string, herald?: DisconnectDef): PusherErrorDef {
  return { code, name, message, closes: code < 4300, ...(herald ? { herald } : {}) };
}

export const PusherCode = {
  APP_NOT_FOUND: p(4001, 'app_not_found', 'App does not exist', DisconnectCode.UNKNOWN_APP),
  APP_DISABLED: p(4003, 'app_disabled', 'App is disabled', DisconnectCode.UNKNOWN_APP),
  OVER_CONNECTION_QUOTA: p(
    4004,
    'over_connection_quota',
    'App is over its connection quota',
    DisconnectCode.CONNECTION_LIMIT,
  ),
  PATH_NOT_FOUND: p(4005, 'path_not_found', 'Path not found: connect to /app/{key}'),
  INVALID_VERSION: p(4006, 'invalid_version', 'Invalid version string format'),
  UNSUPPORTED_PROTOCOL: p(
    4007,
    'unsupported_protocol',
    'Unsupported protocol version (5 to 7 are supported)',
    DisconnectCode.UNSUPPORTED_PROTOCOL,
  ),
  NO_PROTOCOL_VERSION: p(4008, 'no_protocol_version', 'No protocol version supplied'),
  UNAUTHORIZED: p(4009, 'unauthorized', 'Connection is unauthorized', DisconnectCode.FORCE_DISCONNECT),
  /** Herald extension in the terminal range: the client sent a frame it must not send again. */
  BAD_MESSAGE: p(4010, 'bad_message', 'Malformed or oversized message', DisconnectCode.BAD_REQUEST),
  OVER_CAPACITY: p(4100, 'over_capacity', 'Over capacity, reconnect later', DisconnectCode.NODE_BUSY),
  GENERIC_RECONNECT: p(4200, 'reconnect', 'Reconnect now', DisconnectCode.SHUTDOWN),
  PONG_NOT_RECEIVED: p(4201, 'pong_not_received', 'Pong reply not received', DisconnectCode.NO_PONG),
  CLOSED_AFTER_INACTIVITY: p(4202, 'closed_after_inactivity', 'Closed after inactivity'),
  CLIENT_EVENT_RATE_LIMIT: p(4301, 'client_event_rate_limit', 'Client event rejected due to rate limit'),
} as const satisfies Record<string, PusherErrorDef>;

export const ALL_PUSHER_CODES: readonly PusherErrorDef[] = Object.values(PusherCode);

/** What a Pusher client is told when Herald closes its session for a native reason. */
export function pusherCodeFor(def: DisconnectDef): PusherErrorDef {
  switch (def) {
    case DisconnectCode.UNKNOWN_APP:
      return PusherCode.APP_DISABLED;
    case DisconnectCode.CONNECTION_LIMIT:
      return PusherCode.OVER_CONNECTION_QUOTA;
    case DisconnectCode.NO_PONG:
      return PusherCode.PONG_NOT_RECEIVED;
    case DisconnectCode.NODE_BUSY:
    case DisconnectCode.SLOW:
      return PusherCode.OVER_CAPACITY;
    case DisconnectCode.FORCE_DISCONNECT:
    case DisconnectCode.TOKEN_REVOKED:
    case DisconnectCode.INVALID_TOKEN:
    case DisconnectCode.ORIGIN_NOT_ALLOWED:
      return PusherCode.UNAUTHORIZED;
    case DisconnectCode.BAD_REQUEST:
    case DisconnectCode.MESSAGE_TOO_LARGE:
      return PusherCode.BAD_MESSAGE;
    case DisconnectCode.UNSUPPORTED_PROTOCOL:
      return PusherCode.UNSUPPORTED_PROTOCOL;
    default:
      // Shutdown, server error, insufficient state, forced reconnect: come back at once.
      return def.reconnect ? PusherCode.GENERIC_RECONNECT : PusherCode.UNAUTHORIZED;
  }
}
