/**
 * OccupancyCounter: cluster-wide counts of subscriptions per channel (and connections per presence
 * member), plus whether "occupied" was announced, so the first and last subscriber across all
 * gateways produce exactly one occupied/vacated event; and the per-app listing of occupied channels
 * that the REST and Pusher HTTP APIs answer from in a cluster.
 *
 * Counts are per node with a lease. Each node (instance of the counter) holds its own contribution
 * to every key; the total of a key is the sum over the nodes that have not been swept. A node
 * refreshes its lease with `heartbeat()` (at least every lease / 3); a node that stops doing so
 * (killed with -9, partitioned away) is found by `sweep()` once the lease has expired, and its
 * contributions are removed.
 *
 * Guarantees (checked by libs/testing `occupancyCounterContract`):
 * - `add` changes this node's contribution atomically and returns the key's total after the change.
 *   A delta that would take this node's contribution below 0 leaves it at 0 (the total unchanged):
 *   a node never removes what another node added.
 * - `setAnnounced` atomically sets the flag and returns its previous value, so of two nodes racing
 *   to announce, exactly one sees `false`.
 * - `list(app, prefix, limit)` returns the keys of one app whose total is above 0 and whose name
 *   starts with `prefix`, in byte order of their UTF-8 names, at most `limit` (>= 1) of them, each
 *   with its total.
 * - `sweep()` removes the contributions of every node whose lease expired and returns the keys whose
 *   total became 0 because of it, each exactly once across all callers of all nodes (one sweeper
 *   reports a dead node's key; the flag is left as it was, for the caller to clear). A node whose
 *   lease expired but that is still running finds out at its next `add` or `heartbeat()` and puts
 *   its current contributions back under a new lease (nothing is reported for them).
 * - Keys are scoped by app. A key whose total is 0 and whose flag is false holds no memory.
 */
export interface OccupancyCounter {
  add(appId: string, key: string, delta: 1 | -1): Promise<number>;
  count(appId: string, key: string): Promise<number>;
  setAnnounced(appId: string, key: string, announced: boolean): Promise<boolean>;
  list(appId: string, prefix: string, limit: number): Promise<OccupancyEntry[]>;
  /** Refreshes this node's lease; a node that never added anything holds none and does nothing. */
  heartbeat(): Promise<void>;
  sweep(): Promise<VacatedKey[]>;
}

export interface OccupancyEntry {
  key: string;
  /** The key's total over every node (> 0). */
  count: number;
}

/** A key whose total reached 0 because a dead node's contributions were swept. */
export interface VacatedKey {
  appId: string;
  key: string;
}

export const OCCUPANCY_COUNTER = Symbol('OccupancyCounter');

/** Default lease of a node's contributions (config `presence.occupancyLeaseMilliseconds`). */
export const DEFAULT_OCCUPANCY_LEASE_MS = 15_000;

/**
 * The most channels one listing returns (REST `GET /v1/apps/{app}/channels`, Pusher `GET channels`
 * in a cluster): the first ones in byte order of their names; narrow with a prefix for the rest.
 */
export const MAX_LISTED_CHANNELS = 10_000;

/** The counter key of a channel's subscriptions. */
export function occupancyChannelKey(channel: string): string {
  return `c:${channel}`;
}

/** The counter key of a presence member's connections in a channel. */
export function occupancyMemberKey(channel: string, user: string): string {
  return `m:${channel}\u0000${user}`;
}

/** What a counter key stands for (undefined: not a key made by the functions above). */
export function parseOccupancyKey(key: string): { channel: string; user?: string } | undefined {
  if (key.startsWith('c:')) return { channel: key.slice(2) };
  if (key.startsWith('m:')) {
    const sep = key.indexOf('\u0000', 2);
    if (sep !== -1) return { channel: key.slice(2, sep), user: key.slice(sep + 1) };
  }
  return undefined;
}
