/**
 * Values keyed by (app, key), each with an expiry. Reads treat expired entries as absent and drop
 * them (lazy expiry); `sweep` drops the rest, so memory is bounded by what is live plus one sweep
 * interval. Nested maps keep apps apart whatever characters their ids and keys contain.
 */
export class TtlMap<V> {
  private readonly apps = new Map<string, Map<string, { value: V; expiresAt: number }>>();

  constructor(private readonly now: () => number) {}

  get(appId: string, key: string): V | undefined {
    return this.entry(appId, key)?.value;
  }

  /** The live entry with its expiry time (ms since epoch on this map's clock). */
  entry(appId: string, key: string): { value: V; expiresAt: number } | undefined {
    const e = this.apps.get(appId)?.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      this.delete(appId, key);
      return undefined;
    }
    return e;
  }

  set(appId: string, key: string, value: V, ttlMs: number): void {
    this.setUntil(appId, key, value, this.now() + ttlMs);
  }

  setUntil(appId: string, key: string, value: V, expiresAt: number): void {
    let keys = this.apps.get(appId);
    if (!keys) {
      keys = new Map();
      this.apps.set(appId, keys);
    }
    keys.set(key, { value, expiresAt });
  }

  delete(appId: string, key: string): boolean {
    const keys = this.apps.get(appId);
    if (!keys?.delete(key)) return false;
    if (keys.size === 0) this.apps.delete(appId);
    return true;
  }

  sweep(): void {
    const now = this.now();
    for (const [appId, keys] of this.apps) {
      for (const [key, e] of keys) if (e.expiresAt <= now) keys.delete(key);
      if (keys.size === 0) this.apps.delete(appId);
    }
  }

  /** Entries held, expired or not (for boundedness tests). */
  get size(): number {
    let n = 0;
    for (const keys of this.apps.values()) n += keys.size;
    return n;
  }
}

/** Runs `sweep` every `intervalMs` without keeping the process alive; returns the stopper. */
export function startSweeper(sweep: () => void, intervalMs: number): () => void {
  if (intervalMs <= 0) return () => {};
  const timer = setInterval(sweep, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Options shared by the memory state stores. */
export interface MemoryStoreOptions {
  /** Clock for every TTL decision; default Date.now. */
  now?: () => number;
  /** How often expired entries are dropped from memory; default 10 s. 0 disables the timer. */
  sweepIntervalMs?: number;
}

export const DEFAULT_SWEEP_INTERVAL_MS = 10_000;
