/**
 * Channel grammar, shared by server and SDK.
 *
 *   channel   = [namespace ":"] name
 *   name      = 1*allowed, with an optional user boundary: base "#" user *("," user)
 *   allowed   = ALPHA / DIGIT / "_" / "-" / "=" / "@" / "," / "." / ";" / "!" / "~" / "#" / ":"
 *
 * - At most 255 characters. Namespaces are configured per app; a channel without ":" is in the
 *   default namespace ("").
 * - A channel with a "#" is user-limited: only the listed users may subscribe (Centrifugo's user
 *   boundary). `#42` is user 42's personal channel; `dialog#42,43` is shared by users 42 and 43.
 * - User ids (the JWT `sub`) must be 1–128 characters of ALPHA / DIGIT / "_-=@.;!~|" so they can
 *   appear in a personal channel name.
 */

export const MAX_CHANNEL_LENGTH = 255;
export const MAX_USER_ID_LENGTH = 128;

const CHANNEL_RE = /^[A-Za-z0-9_\-=@,.;!~#:]+$/;
const USER_RE = /^[A-Za-z0-9_\-=@.;!~]+$/;

export interface ParsedChannel {
  channel: string;
  namespace: string;
  /** Users allowed to subscribe, when the channel has a user boundary. */
  users?: string[];
}

export function isValidUserId(user: string): boolean {
  return user.length > 0 && user.length <= MAX_USER_ID_LENGTH && USER_RE.test(user);
}

/** Returns undefined for a channel that violates the grammar. */
export function parseChannel(channel: string): ParsedChannel | undefined {
  if (typeof channel !== 'string' || channel.length === 0 || channel.length > MAX_CHANNEL_LENGTH)
    return undefined;
  if (!CHANNEL_RE.test(channel)) return undefined;
  const colon = channel.indexOf(':');
  const namespace = colon > 0 ? channel.slice(0, colon) : '';
  if (colon === 0 || colon === channel.length - 1) return undefined;
  const hash = channel.lastIndexOf('#');
  if (hash === -1) return { channel, namespace };
  const users = channel.slice(hash + 1).split(',');
  if (!users.every(isValidUserId)) return undefined;
  return { channel, namespace, users };
}

export function personalChannel(user: string): string {
  return `#${user}`;
}
