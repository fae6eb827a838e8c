/**
 * PresenceRegistry: which connections are live, which users are online, and who is in a channel.
 * Shared by every node (memory: one process; Redis: the cluster). Every method takes the app id
 * first: entries of different apps never meet, even with identical user ids and channel names.
 *
 * Guarantees (checked by libs/testing `presenceRegistryContract`):
 * - Every entry carries a TTL. An entry not refreshed within `ttlMs` of its last add/refresh is
 *   treated as absent by every read (lazy expiry), so a node that dies without cleaning up loses
 *   its users' presence within one TTL.
 * - `join`, `leave` and `removeConnection` are atomic: concurrent joins of one user's two
 *   connections report `userJoined: true` exactly once; the last leave reports `userLeft: true`
 *   exactly once.
 * - `sweep()` removes expired entries and returns each expired channel member exactly once across
 *   all callers (so exactly one node emits the leave event for a member of a dead node), including
 *   members that a read already treated as absent. Members that left or whose connection was
 *   removed are not returned.
 * - Reads are consistent with completed writes (read-your-writes within one process).
 */
export interface PresenceMember {
  /** Connection id. */
  client: string;
  /** User id; '' for anonymous. */
  user: string;
  /** Presence data from the connection token's `info` claim. */
  info?: unknown;
}

export interface ConnectionEntry {
  client: string;
  user: string;
  /** Node holding the connection. */
  node: string;
}

export interface JoinResult {
  /** This is the user's first connection in the channel. */
  userJoined: boolean;
  /** Number of connections (clients) in the channel after the join. */
  numClients: number;
}

export interface LeaveResult {
  /** The connection was a member (false: unknown or already expired). */
  removed: boolean;
  /** The user has no connection left in the channel (false when `removed` is false). */
  userLeft: boolean;
}

export interface PresenceStats {
  numClients: number;
  numUsers: number;
}

export interface ExpiredMember extends PresenceMember {
  appId: string;
  channel: string;
  userLeft: boolean;
}

export interface PresenceRegistry {
  addConnection(appId: string, conn: ConnectionEntry, ttlMs: number): Promise<void>;
  /** Removes the connection and every channel membership it holds. */
  removeConnection(appId: string, client: string): Promise<void>;
  /** Extends the TTL of the connection and of its memberships in `channels`. */
  refresh(appId: string, client: string, channels: readonly string[], ttlMs: number): Promise<void>;
  isUserOnline(appId: string, user: string): Promise<boolean>;
  /** Live connections of one user (cluster-wide). */
  countUserConnections(appId: string, user: string): Promise<number>;
  /** Live connections of one app (cluster-wide). */
  countConnections(appId: string): Promise<number>;
  /** A connection joining again refreshes its membership and replaces its info (`userJoined` false). */
  join(appId: string, channel: string, member: PresenceMember, ttlMs: number): Promise<JoinResult>;
  leave(appId: string, channel: string, client: string): Promise<LeaveResult>;
  /** Members in no particular order; one entry per connection. */
  members(appId: string, channel: string): Promise<PresenceMember[]>;
  stats(appId: string, channel: string): Promise<PresenceStats>;
  sweep(): Promise<ExpiredMember[]>;
}

export const PRESENCE_REGISTRY = Symbol('PresenceRegistry');
