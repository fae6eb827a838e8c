import type { AppConfig, NamespaceOptions } from '@herald/config';
import type { ChannelOptionsRule } from '@herald/core';
import { isValidUserId, type ParsedChannel } from '@herald/protocol';

/**
 * Pusher channel names and how they map to Herald channels (docs/pusher.md "Channels").
 *
 * - A Pusher name (`^[A-Za-z0-9_\-=@,.;]+$`, at most 164 characters) is the Herald channel of the
 *   same name. Pusher names have no ":" so they live in Herald's default namespace; namespaced
 *   Herald channels (`chat:lobby`) cannot be reached from the Pusher protocol.
 * - `#server-to-user-{id}` (Pusher's per-user channel) is Herald's personal channel `#{id}`, so a
 *   Herald user publish reaches signed-in Pusher connections and Pusher's `sendToUser` reaches
 *   native connections of that user.
 * - Prefixes keep their Pusher meaning on top of the default namespace's options (channelOptionsRule).
 */
export const PUSHER_CHANNEL_RE = /^[A-Za-z0-9_\-=@,.;]+$/;
export const MAX_PUSHER_CHANNEL_LENGTH = 164;
export const SERVER_TO_USER_PREFIX = '#server-to-user-';

export type PusherChannelType = 'public' | 'private' | 'presence' | 'encrypted' | 'user';

export interface PusherChannel {
  /** The name as Pusher clients and server libraries know it. */
  pusher: string;
  /** The Herald channel it maps to. */
  herald: string;
  type: PusherChannelType;
  /** `cache-` channels: the last event is sent on subscribe (from Herald history). */
  cache: boolean;
  /** For `user` channels: the user id. */
  user?: string;
}

function typeOf(name: string): { type: PusherChannelType; rest: string } {
  if (name.startsWith('private-encrypted-'))
    return { type: 'encrypted', rest: name.slice('private-encrypted-'.length) };
  if (name.startsWith('private-')) return { type: 'private', rest: name.slice('private-'.length) };
  if (name.startsWith('presence-')) return { type: 'presence', rest: name.slice('presence-'.length) };
  return { type: 'public', rest: name };
}

/** Parses a Pusher channel name; undefined when it is not a valid one (Pusher's rules). */
export function parsePusherChannel(name: unknown): PusherChannel | undefined {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_PUSHER_CHANNEL_LENGTH)
    return undefined;
  if (name.startsWith(SERVER_TO_USER_PREFIX)) {
    const user = name.slice(SERVER_TO_USER_PREFIX.length);
    if (!isValidUserId(user)) return undefined;
    return { pusher: name, herald: `#${user}`, type: 'user', cache: false, user };
  }
  if (!PUSHER_CHANNEL_RE.test(name)) return undefined;
  const { type, rest } = typeOf(name);
  return { pusher: name, herald: name, type, cache: rest.startsWith('cache-') };
}

/**
 * The Pusher name of a Herald channel, or undefined when Pusher clients cannot subscribe to it
 * (namespaced channels, user boundaries other than a personal channel, names Pusher forbids).
 */
export function pusherNameOf(herald: string): string | undefined {
  if (herald.startsWith('#')) {
    const user = herald.slice(1);
    return isValidUserId(user) ? SERVER_TO_USER_PREFIX + user : undefined;
  }
  if (herald.length > MAX_PUSHER_CHANNEL_LENGTH || !PUSHER_CHANNEL_RE.test(herald)) return undefined;
  return herald;
}

/**
 * The options of a default-namespace channel with a Pusher prefix: `private-` and
 * `private-encrypted-` need authorization (a Pusher signature, or a Herald subscription token for
 * native clients), `presence-` tracks members with join/leave pushes, `cache-` (after any of those
 * prefixes) keeps at least the last publication. Everything else is the namespace's own.
 */
export function pusherChannelOptions(
  parsed: ParsedChannel,
  options: NamespaceOptions,
  cacheTtlSeconds: number,
): NamespaceOptions {
  if (parsed.namespace !== '' || parsed.users !== undefined) return options;
  const ch = parsePusherChannel(parsed.channel);
  if (!ch || (ch.type === 'public' && !ch.cache)) return options;
  const out = { ...options };
  if (ch.type === 'private' || ch.type === 'encrypted' || ch.type === 'presence') out.private = true;
  if (ch.type === 'presence') {
    out.presence = true;
    out.joinLeave = true;
    out.allowPresence = true;
  }
  if (ch.cache && out.historySize < 1) {
    out.historySize = 1;
    out.historyTtlSeconds = cacheTtlSeconds;
  }
  return out;
}

export function channelOptionsRule(cacheTtlSeconds: number): ChannelOptionsRule {
  return (_app: AppConfig, parsed, options) => pusherChannelOptions(parsed, options, cacheTtlSeconds);
}

// --- event data ---------------------------------------------------------------------------------

/**
 * The Herald publication data of a Pusher event: `{"event": name, "data": data}`, where `data` is
 * what the Pusher side sent, unchanged (server libraries send a JSON-encoded string).
 */
export interface PusherEnvelope {
  event: string;
  data: unknown;
}

export function toHeraldData(event: string, data: unknown): PusherEnvelope {
  return { event, data };
}

/** The event name Pusher clients see for a Herald publication that is not a Pusher envelope. */
export const DEFAULT_EVENT_NAME = 'message';

/**
 * A Herald publication's data as a Pusher event: an envelope (an object whose only keys are a
 * string `event` and `data`) gives its name and data; anything else is the event `message` with
 * the data as JSON. Pusher frames carry `data` as a string.
 */
export function toPusherEvent(data: unknown): { event: string; data: string } {
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
    const rec = data as Record<string, unknown>;
    const keys = Object.keys(rec);
    if (typeof rec.event === 'string' && 'data' in rec && keys.length === 2 && rec.event.length > 0) {
      return { event: rec.event, data: dataString(rec.data) };
    }
  }
  return { event: DEFAULT_EVENT_NAME, data: dataString(data) };
}

function dataString(data: unknown): string {
  return typeof data === 'string' ? data : (JSON.stringify(data) ?? 'null');
}
