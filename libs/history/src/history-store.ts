/**
 * HistoryStore: one stream per (app, channel), holding the latest publications with their offsets.
 *
 * Guarantees (checked by libs/testing `historyStoreContract`):
 * - A stream has an `epoch` (an opaque string) and a `top` offset. A stream that does not exist,
 *   or expired, or was lost (memory restarted, Redis flushed) is created anew with a new random
 *   epoch and top 0. So an epoch seen before never comes back with different contents.
 * - `append` assigns offset top+1 and stores the entry in one atomic step: concurrent appends get
 *   distinct, consecutive offsets, and an entry is never visible without its offset or vice versa.
 * - The stream keeps at most `size` entries (oldest trimmed first) and each entry at most `ttlMs`
 *   after it was appended. The stream's epoch and top outlive its entries (`metaTtlMs`, default
 *   max(ttlMs, 1 h) after the last append), so a client learns that entries were lost (gap) rather
 *   than seeing a new epoch too early.
 * - `read` returns entries in ascending offset order (descending with `reverse`), only entries with
 *   offset > `since.offset` when `since` is given (whatever its epoch: the caller compares epochs),
 *   at most `limit` of them: `limit` 0 returns only the position, -1 or undefined returns all kept.
 *   With `since` and `reverse` together, the newest entries after `since` are returned.
 * - Entries of one app are never returned for another, whatever the channel names.
 */
import type { StreamPosition } from '@herald/protocol';

export interface HistoryEntry {
  offset: number;
  /** Opaque value as appended (core stores the encoded publication). */
  value: string;
}

export interface AppendOptions {
  /** Max entries kept; must be >= 1 (channels without history never call append). */
  size: number;
  /** How long an entry is kept after append. */
  ttlMs: number;
  /** How long epoch and top are kept after the last append; default max(ttlMs, 3_600_000). */
  metaTtlMs?: number;
}

export interface ReadOptions {
  since?: StreamPosition;
  limit?: number;
  reverse?: boolean;
}

export interface ReadResult {
  entries: HistoryEntry[];
  /** Current top of the stream (offset of the newest entry ever appended, and the epoch). */
  position: StreamPosition;
}

export interface HistoryStore {
  append(appId: string, channel: string, value: string, options: AppendOptions): Promise<StreamPosition>;
  read(appId: string, channel: string, options: ReadOptions): Promise<ReadResult>;
  /** Current position; creates the stream (new epoch, top 0) if missing. */
  position(appId: string, channel: string): Promise<StreamPosition>;
  /** Deletes the stream; the next append starts a new epoch. */
  remove(appId: string, channel: string): Promise<void>;
}

export const HISTORY_STORE = Symbol('HistoryStore');
