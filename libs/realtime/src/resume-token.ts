import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AppConfig } from '@herald/config';
import type { StreamPosition } from '@herald/protocol';

/**
 * Resume tokens: the SSE event `id` and the long-poll `cursor`. One token says, for every channel
 * of a session, where the client is in that channel's stream, so any node can resume the client
 * from it (DESIGN.md "Delivery, history and recovery"), plus which session and event it was:
 *
 *   1.<base>.<mac>.<seq>.<offsets>
 *
 * - `base`: base64url of JSON `[session, user, [[channel, epoch], ...]]`; epoch "" when the channel
 *   has no known position (no history, or not yet known).
 * - `mac`: HMAC-SHA256 of the app id and `base` under a key derived from the app's server secret
 *   (any live secret verifies, so rotation does not reset clients). It scopes the token to one app
 *   and one user: a token of another app, a forged channel list or a garbled token does not verify
 *   and is treated as an unknown position (explicit resync, `recovered: false`).
 * - `seq`: the session's event sequence number (base 36); long-poll acknowledges by it.
 * - `offsets`: each channel's offset (base 36), in the order of the base list, joined by "_".
 *
 * Offsets change with every event while the base changes only when subscriptions do, so offsets
 * stay outside the MAC and the MAC is computed once per subscription change, not per event. That
 * is safe: an offset is only ever a recovery position, which the client may choose freely anyway
 * (`subscribe.recover`); recovery checks it against history.
 *
 * Tokens use only `[A-Za-z0-9._-]`: never CR, LF, NUL or anything a URL must escape.
 */
export interface ResumeState {
  /** Session (client) id the token was issued to. */
  session: string;
  user: string;
  /** Sequence number of the last event the token covers. */
  seq: number;
  /** Every channel of the session, in order, with its position when known. */
  channels: Map<string, StreamPosition | undefined>;
}

/** Longer tokens are refused on input; the server never issues one (it drops trailing channels). */
export const MAX_RESUME_TOKEN_LENGTH = 8192;

const VERSION = '1';
const MAC_CHARS = 22; // 132 bits of the HMAC
const BASE36 = /^[0-9a-z]{1,11}$/;

/** Caches the signed base of one session, which changes only with its subscriptions. */
export interface ResumeTokenCache {
  key?: string;
  signed?: string;
}

function mac(secret: string, appId: string, base: string): string {
  return createHmac('sha256', secret)
    .update(`herald.resume.v1\n${appId}\n${base}`)
    .digest('base64url')
    .slice(0, MAC_CHARS);
}

export function encodeResumeToken(app: AppConfig, state: ResumeState, cache: ResumeTokenCache = {}): string {
  let list: [string, string][] = [];
  let offsets: string[] = [];
  for (const [channel, pos] of state.channels) {
    list.push([channel, pos ? pos.epoch : '']);
    offsets.push(pos ? pos.offset.toString(36) : '');
  }
  const tail = () => `.${state.seq.toString(36)}.${offsets.join('_')}`;
  for (;;) {
    const key = JSON.stringify([state.session, state.user, list]);
    if (cache.key !== key) {
      const base = Buffer.from(key, 'utf8').toString('base64url');
      cache.key = key;
      cache.signed = `${VERSION}.${base}.${mac(app.secrets[0], app.id, base)}`;
    }
    const token = `${cache.signed}${tail()}`;
    if (token.length <= MAX_RESUME_TOKEN_LENGTH || list.length === 0) return token;
    // Too many channels to name them all: the last ones resume with `recovered: false`.
    const keep = Math.floor(list.length / 2);
    list = list.slice(0, keep);
    offsets = offsets.slice(0, keep);
  }
}

/** Returns undefined for anything that is not a token this app issued (garbage, oversized, foreign). */
export function decodeResumeToken(app: AppConfig, token: string | undefined): ResumeState | undefined {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_RESUME_TOKEN_LENGTH)
    return undefined;
  const parts = token.split('.');
  if (parts.length !== 5 || parts[0] !== VERSION) return undefined;
  const [, base, presented, seqText, offsetsText] = parts;
  if (!verifyMac(app, base, presented)) return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(base, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(decoded) || decoded.length !== 3) return undefined;
  const [session, user, list] = decoded as unknown[];
  if (typeof session !== 'string' || typeof user !== 'string' || !Array.isArray(list)) return undefined;
  const seq = parseBase36(seqText);
  const offsets = offsetsText.split('_');
  if (seq === undefined || offsets.length !== Math.max(list.length, 1)) return undefined;
  if (list.length === 0 && offsets[0] !== '') return undefined;
  const channels = new Map<string, StreamPosition | undefined>();
  for (let i = 0; i < list.length; i++) {
    const entry: unknown = list[i];
    if (!Array.isArray(entry) || entry.length !== 2) return undefined;
    const [channel, epoch] = entry as unknown[];
    if (typeof channel !== 'string' || typeof epoch !== 'string') return undefined;
    if (epoch === '') {
      if (offsets[i] !== '') return undefined;
      channels.set(channel, undefined);
      continue;
    }
    const offset = parseBase36(offsets[i]);
    if (offset === undefined) return undefined;
    channels.set(channel, { offset, epoch });
  }
  return { session, user, seq, channels };
}

function verifyMac(app: AppConfig, base: string, presented: string): boolean {
  if (presented.length !== MAC_CHARS) return false;
  const given = Buffer.from(presented, 'utf8');
  let ok = false;
  // Every live secret is tried (no early exit), so timing does not tell which one matched.
  for (const secret of app.secrets) {
    if (timingSafeEqual(Buffer.from(mac(secret, app.id, base), 'utf8'), given)) ok = true;
  }
  return ok;
}

function parseBase36(text: string): number | undefined {
  if (!BASE36.test(text)) return undefined;
  const n = parseInt(text, 36);
  return Number.isSafeInteger(n) ? n : undefined;
}
