/**
 * The one catalogue of Herald's error and disconnect codes, shared by the server, the REST API and
 * the SDK, and rendered for operators into docs/errors.md (a test checks that page for drift).
 *
 * Ranges (modelled on Centrifugo's, so clients can act on a code they have never seen):
 * - Error codes 100–499 answer one command (WebSocket/HTTP reply or REST error body); the connection
 *   stays open. 100–199 are request problems, 200–299 token and auth problems, 300–399 limits,
 *   400–419 mobile push (devices, push payloads).
 * - Disconnect codes are WebSocket close codes (and `disconnect` pushes on other transports):
 *   3000–3499: the client should reconnect (with backoff);
 *   3500–3999: terminal, the client must not reconnect without changing something (token, config).
 * No literal code appears anywhere else in the codebase: refer to these names.
 */

export interface ErrorDef {
  readonly code: number;
  readonly name: string;
  readonly message: string;
  /** HTTP status used when this error answers a REST or HTTP-transport request. */
  readonly status: number;
  /** Whether retrying the same request later may succeed. */
  readonly temporary: boolean;
}

function e(code: number, name: string, status: number, message: string, temporary = false): ErrorDef {
  return { code, name, status, message, temporary };
}

export const ErrorCode = {
  INTERNAL: e(100, 'internal', 500, 'internal server error', true),
  UNAUTHORIZED: e(101, 'unauthorized', 401, 'missing or invalid credentials'),
  UNKNOWN_CHANNEL: e(
    102,
    'unknown_channel',
    404,
    'channel name is invalid or its namespace is not configured',
  ),
  PERMISSION_DENIED: e(103, 'permission_denied', 403, 'permission denied'),
  METHOD_NOT_FOUND: e(104, 'method_not_found', 404, 'unknown command or method'),
  ALREADY_SUBSCRIBED: e(105, 'already_subscribed', 409, 'already subscribed to this channel'),
  BAD_REQUEST: e(107, 'bad_request', 400, 'malformed request'),
  NOT_AVAILABLE: e(108, 'not_available', 404, 'feature not enabled for this channel or app'),
  NOT_SUBSCRIBED: e(109, 'not_subscribed', 409, 'not subscribed to this channel'),
  NOT_CONNECTED: e(110, 'not_connected', 400, 'connect must be the first command'),
  ALREADY_CONNECTED: e(111, 'already_connected', 409, 'connection is already authenticated'),
  UNKNOWN_APP: e(112, 'unknown_app', 404, 'unknown or disabled app'),
  UNRECOVERABLE_POSITION: e(113, 'unrecoverable_position', 409, 'stream position cannot be recovered'),
  PAYLOAD_TOO_LARGE: e(114, 'payload_too_large', 413, 'message or body exceeds the size limit'),
  IDEMPOTENCY_CONFLICT: e(
    115,
    'idempotency_conflict',
    409,
    'a request with this idempotency key is in progress',
    true,
  ),
  IDEMPOTENCY_MISMATCH: e(
    117,
    'idempotency_key_reused',
    422,
    'idempotency key was used for a different request',
  ),
  UNAVAILABLE: e(116, 'unavailable', 503, 'a dependency cannot take the request now, retry later', true),
  NOT_FOUND: e(118, 'not_found', 404, 'no such resource (key, secret, webhook, credential)'),
  ALREADY_EXISTS: e(
    119,
    'already_exists',
    409,
    'a resource with this id already exists, or the change conflicts',
  ),

  TOKEN_MALFORMED: e(200, 'token_malformed', 401, 'token is not a well-formed JWT'),
  TOKEN_EXPIRED: e(201, 'token_expired', 401, 'token has expired; refresh it', true),
  TOKEN_UNSIGNED: e(202, 'token_unsigned', 401, 'unsigned tokens (alg none) are refused'),
  TOKEN_ALGORITHM: e(203, 'token_algorithm_mismatch', 401, 'token algorithm does not match the app key type'),
  TOKEN_SIGNATURE: e(204, 'token_invalid_signature', 401, 'token signature does not verify'),
  TOKEN_WRONG_APP: e(205, 'token_wrong_app', 401, 'token was issued for another app'),
  TOKEN_REVOKED: e(206, 'token_revoked', 401, 'token has been revoked'),
  TOKEN_CLAIMS: e(
    207,
    'token_invalid_claims',
    401,
    'token lacks a required claim (sub, exp) or has an invalid one',
  ),
  TICKET_INVALID: e(208, 'ticket_invalid', 401, 'ticket is unknown, expired or already used'),
  ORIGIN_NOT_ALLOWED: e(209, 'origin_not_allowed', 403, 'origin is not in the app allowed origins'),
  SUBSCRIPTION_TOKEN_REQUIRED: e(
    210,
    'subscription_token_required',
    403,
    'private channel requires a subscription token',
  ),
  TOKEN_USER_MISMATCH: e(211, 'token_user_mismatch', 401, 'refreshed token belongs to another user'),

  LIMIT_CHANNELS: e(300, 'limit_channels', 429, 'too many channels on this connection'),
  RATE_LIMITED: e(301, 'rate_limited', 429, 'rate limit exceeded, retry later', true),
  LIMIT_PRESENCE_MEMBERS: e(
    302,
    'limit_presence_members',
    429,
    'channel has reached its presence member limit',
    true,
  ),
  LIMIT_BATCH: e(303, 'limit_batch', 400, 'too many items in one request'),

  // 400–419: mobile push (devices and push payloads; docs/push.md).
  LIMIT_DEVICES: e(
    400,
    'limit_devices',
    409,
    'user has reached the devices-per-user limit; remove one first',
  ),
  PUSH_PAYLOAD_TOO_LARGE: e(
    401,
    'push_payload_too_large',
    413,
    'push payload exceeds the provider limit (APNs 4096 bytes, FCM 4000 bytes of data)',
  ),
  INVALID_DEVICE_TOKEN: e(402, 'invalid_device_token', 400, 'device token is malformed for its platform'),
  DEVICE_NOT_FOUND: e(403, 'device_not_found', 404, 'no such device for this user'),
} as const satisfies Record<string, ErrorDef>;

export type ErrorCodeName = keyof typeof ErrorCode;

export interface DisconnectDef {
  readonly code: number;
  readonly name: string;
  readonly reason: string;
  readonly reconnect: boolean;
}

function d(code: number, name: string, reason: string): DisconnectDef {
  return { code, name, reason, reconnect: code < 3500 };
}

export const DisconnectCode = {
  // 3000–3499: reconnect (with backoff and full jitter).
  SHUTDOWN: d(3001, 'shutdown', 'node is shutting down, reconnect to another'),
  SERVER_ERROR: d(3002, 'server_error', 'internal server error'),
  TOKEN_EXPIRED: d(3003, 'token_expired', 'connection token expired without refresh'),
  NO_PONG: d(3004, 'no_pong', 'no pong within the ping timeout'),
  SLOW: d(3005, 'slow', 'client did not read fast enough; outbound queue overflowed'),
  INSUFFICIENT_STATE: d(
    3006,
    'insufficient_state',
    'server could not keep stream continuity; recover on reconnect',
  ),
  FORCE_RECONNECT: d(3007, 'force_reconnect', 'server asked the client to reconnect'),
  CONNECTION_LIMIT: d(3008, 'connection_limit', 'app or user connection limit reached; reconnect later'),
  NODE_BUSY: d(3009, 'node_busy', 'node sheds new connections; reconnect later'),
  CONNECT_TIMEOUT: d(3010, 'connect_timeout', 'no connect command in time'),

  // 3500–3999: terminal.
  INVALID_TOKEN: d(3500, 'invalid_token', 'connection credentials are invalid'),
  BAD_REQUEST: d(3501, 'bad_request', 'client sent a malformed frame'),
  FORCE_DISCONNECT: d(3502, 'force_disconnect', 'disconnected by the server API'),
  UNKNOWN_APP: d(3503, 'unknown_app', 'unknown or disabled app key'),
  TOKEN_REVOKED: d(3504, 'token_revoked', 'connection token was revoked'),
  ORIGIN_NOT_ALLOWED: d(3505, 'origin_not_allowed', 'origin not allowed for this app'),
  MESSAGE_TOO_LARGE: d(3506, 'message_too_large', 'frame exceeds the size limit'),
  UNSUPPORTED_PROTOCOL: d(3507, 'unsupported_protocol', 'unsupported protocol version or encoding'),
} as const satisfies Record<string, DisconnectDef>;

export type DisconnectCodeName = keyof typeof DisconnectCode;

export const ALL_ERRORS: readonly ErrorDef[] = Object.values(ErrorCode);
export const ALL_DISCONNECTS: readonly DisconnectDef[] = Object.values(DisconnectCode);

const errorsByCode = new Map(ALL_ERRORS.map((x) => [x.code, x]));
const disconnectsByCode = new Map(ALL_DISCONNECTS.map((x) => [x.code, x]));

export function errorByCode(code: number): ErrorDef | undefined {
  return errorsByCode.get(code);
}

export function disconnectByCode(code: number): DisconnectDef | undefined {
  return disconnectsByCode.get(code);
}

/** For codes a client does not know: the range decides (see the module comment). */
export function shouldReconnect(closeCode: number): boolean {
  const known = disconnectsByCode.get(closeCode);
  if (known) return known.reconnect;
  if (closeCode >= 3500 && closeCode < 4000) return false;
  if (closeCode >= 4500 && closeCode < 5000) return false;
  // 1000–2999 (transport-level closes such as 1006 abnormal, 1009 too big, 1001 going away) and
  // 3000–3499 / 4000–4499: reconnect with backoff. 1007 (invalid UTF-8) and 1009 (frame too big)
  // mean the client itself is at fault: reconnecting would fail the same way.
  return closeCode !== 1007 && closeCode !== 1009;
}

/** An error a command handler throws; transports render it into their reply shape. */
export class HeraldError extends Error {
  constructor(
    readonly def: ErrorDef,
    message?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message ?? def.message);
    this.name = 'HeraldError';
  }
  get code(): number {
    return this.def.code;
  }
}
