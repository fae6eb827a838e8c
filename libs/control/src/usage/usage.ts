/**
 * Usage metering per app and UTC day: peak concurrent connections, messages published, messages
 * delivered (one per subscriber a publication reached on a node), pushes sent.
 *
 * UsageMeter is the hot-path side: synchronous counter bumps on this node, no I/O, no clock read.
 * Counts are flushed to the UsageStore every `control.usageFlushSeconds` and attributed to the UTC
 * day of the flush (so a count may land in the next day by at most one flush interval).
 *
 * In a cluster each node writes its own row per app and day: published, delivered and pushes are
 * summed across nodes (exact); peak connections is the sum of each node's daily peak, which is exact
 * on one node and an upper bound across several (nodes peak at different moments).
 */
export interface UsageMeter {
  connectionOpened(appId: string): void;
  connectionClosed(appId: string): void;
  published(appId: string, count?: number): void;
  delivered(appId: string, count: number): void;
  /** Hook for the push dispatcher. */
  pushSent(appId: string, count?: number): void;
}

export const USAGE_METER = Symbol('UsageMeter');

export interface UsageCounts {
  peakConnections: number;
  messagesPublished: number;
  messagesDelivered: number;
  pushesSent: number;
}

export interface UsageDay extends UsageCounts {
  /** UTC day, `YYYY-MM-DD`. */
  day: string;
}

/** One node's counts for one app since its last flush. */
export interface UsageDelta extends UsageCounts {
  appId: string;
}

/**
 * Durable usage. `record` adds counts and raises the node's peak (never lowers it) atomically per
 * row; `read` returns days with any usage within [from, to] (inclusive), ascending, summed over
 * nodes. Deltas of apps that no longer exist are dropped.
 */
export interface UsageStore {
  record(nodeId: string, day: string, deltas: readonly UsageDelta[]): Promise<void>;
  read(appId: string, from: string, to: string): Promise<UsageDay[]>;
}

export const USAGE_STORE = Symbol('UsageStore');

/** Live counters of this node, for the metrics endpoint (issue 9). */
export interface UsageSnapshotProvider {
  /** Per app: current connections on this node and totals since the process started. */
  snapshot(): Map<string, { connections: number; published: number; delivered: number; pushesSent: number }>;
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
