import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { secretHasScope } from '@herald/auth';
import type { AppConfig, SecretScope } from '@herald/config';

/**
 * Pusher's signatures (docs/pusher.md "Authentication"): HMAC-SHA256 in lowercase hex, keyed with
 * one of the app's server secrets (two may be live during rotation; every one is tried, in constant
 * time per candidate, without stopping early).
 */

/** A Pusher socket id: two decimal numbers separated by a dot. Anything else is refused. */
export const SOCKET_ID_RE = /^\d{1,20}\.\d{1,20}$/;

export function hmacHex(secret: string, data: string): string {
  return createHmac('sha256', secret).update(data, 'utf8').digest('hex');
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether `signature` is HMAC(secret, data) for a secret of the app that has `scope`. */
export function verifySignature(
  app: AppConfig,
  data: string,
  signature: string,
  scope: SecretScope,
): boolean {
  if (!/^[0-9a-f]{64}$/.test(signature)) return false;
  let ok = false;
  for (const [i, secret] of app.secrets.entries()) {
    const match = sameHex(hmacHex(secret, data), signature);
    ok = (match && secretHasScope(app, i, scope)) || ok;
  }
  return ok;
}

/** What a channel authorization signs: `socket_id:channel` or `socket_id:channel:channel_data`. */
export function channelAuthData(socketId: string, channel: string, channelData?: string): string {
  return channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
}

/** What a user authentication (`pusher:signin`) signs. */
export function userAuthData(socketId: string, userData: string): string {
  return `${socketId}::user::${userData}`;
}

/**
 * Checks an `auth` value (`<client key>:<signature>`) for `data`: the key must be one of the app's
 * client keys and the signature made with one of its secrets (scope `token`, the scope that signs
 * client credentials).
 */
export function verifyClientAuth(app: AppConfig, auth: unknown, data: string): boolean {
  if (typeof auth !== 'string') return false;
  const colon = auth.lastIndexOf(':');
  if (colon <= 0) return false;
  const key = auth.slice(0, colon);
  if (!app.keys.includes(key)) return false;
  return verifySignature(app, data, auth.slice(colon + 1), 'token');
}

/** Signs like a Pusher server library (tests, and docs examples). */
export function signClientAuth(key: string, secret: string, data: string): string {
  return `${key}:${hmacHex(secret, data)}`;
}

// --- HTTP API request signatures --------------------------------------------------------------

export interface SignedRequest {
  method: string;
  /** The request path, e.g. `/apps/acme/events`. */
  path: string;
  /** The raw query string (without `?`). */
  query: string;
  /** The raw body bytes; undefined or empty when there is none. */
  body?: Buffer;
}

export interface RequestCheck {
  ok: boolean;
  status: number;
  message: string;
  /** The decoded query parameters (auth_* included), when the query parsed. */
  params?: Map<string, string>;
}

/** Decodes `a=b&c=d` without turning `+` into spaces (Pusher's libraries sign raw values). */
export function parseQuery(query: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  if (query === '') return out;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq === -1 ? part : part.slice(0, eq);
    const rawValue = eq === -1 ? '' : part.slice(eq + 1);
    try {
      const key = decodeURIComponent(rawKey).toLowerCase();
      if (out.has(key)) return undefined;
      out.set(key, decodeURIComponent(rawValue));
    } catch {
      return undefined;
    }
  }
  return out;
}

/** The string a Pusher HTTP API request signs: `METHOD\npath\nsorted query without auth_signature`. */
export function requestSignData(method: string, path: string, params: Map<string, string>): string {
  const sorted = [...params.entries()]
    .filter(([k]) => k !== 'auth_signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return `${method.toUpperCase()}\n${path}\n${sorted}`;
}

/**
 * Verifies a Pusher HTTP API request: `auth_key` (a client key of the app), `auth_timestamp`
 * within `skewSeconds` of `nowSeconds`, `auth_version` 1.0, `body_md5` of the raw body when there
 * is one, and `auth_signature` over requestSignData with a secret that has `scope`. Answers with
 * Pusher's statuses: 401 for every authentication failure, with a message saying which check failed.
 */
export function verifyRequest(
  app: AppConfig,
  req: SignedRequest,
  opts: { nowSeconds: number; skewSeconds: number; scope: SecretScope },
): RequestCheck {
  const fail = (message: string, status = 401): RequestCheck => ({ ok: false, status, message });
  const params = parseQuery(req.query);
  if (!params) return fail('Malformed query string', 400);
  const key = params.get('auth_key');
  const timestamp = params.get('auth_timestamp');
  const version = params.get('auth_version');
  const signature = params.get('auth_signature');
  if (!key || !timestamp || !version || !signature)
    return fail('Missing auth_key, auth_timestamp, auth_version or auth_signature');
  if (!app.keys.includes(key)) return fail('Unknown auth_key');
  if (version !== '1.0') return fail('Unsupported auth_version (1.0 is supported)');
  if (!/^\d{1,12}$/.test(timestamp)) return fail('Malformed auth_timestamp');
  if (Math.abs(opts.nowSeconds - Number(timestamp)) > opts.skewSeconds)
    return fail(`Timestamp expired: auth_timestamp must be within ${opts.skewSeconds} s of server time`);
  const body = req.body && req.body.length > 0 ? req.body : undefined;
  if (body) {
    const md5 = createHash('md5').update(body).digest('hex');
    const sent = params.get('body_md5');
    if (sent === undefined || !sameHex(md5, sent.toLowerCase())) return fail('Invalid body_md5');
  }
  if (
    !verifySignature(app, requestSignData(req.method, req.path, params), signature.toLowerCase(), opts.scope)
  )
    return fail(
      'Invalid signature: HMAC-SHA256 of "METHOD\\npath\\nsorted query" with the app secret expected',
    );
  return { ok: true, status: 200, message: 'ok', params };
}
