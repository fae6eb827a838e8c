import type { OnModuleDestroy } from '@nestjs/common';
import type { RateDecision, RateLimit, RateLimiter } from '../rate-limiter.js';
import { TokenBucket } from '../token-bucket.js';
import { DEFAULT_SWEEP_INTERVAL_MS, type MemoryStoreOptions, startSweeper } from './ttl-map.js';

export interface MemoryRateLimiterOptions extends MemoryStoreOptions {
  /**
   * A bucket unused this long is dropped even if not full (only `perSecond: 0` buckets can stay
   * partly empty for long); default 24 h. Full buckets are dropped at every sweep: a new bucket
   * starts full, so that changes nothing.
   */
  maxIdleMs?: number;
}

interface Slot {
  bucket: TokenBucket;
  lastUsed: number;
}

/** RateLimiter in process memory: one TokenBucket per (app, key) (see the port for the guarantees). */
export class MemoryRateLimiter implements RateLimiter, OnModuleDestroy {
  private readonly now: () => number;
  private readonly maxIdleMs: number;
  private readonly apps = new Map<string, Map<string, Slot>>();
  private readonly stopSweeper: () => void;

  constructor(options: MemoryRateLimiterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.maxIdleMs = options.maxIdleMs ?? 86_400_000;
    this.stopSweeper = startSweeper(() => this.sweep(), options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS);
  }

  async consume(appId: string, key: string, limit: RateLimit, cost = 1): Promise<RateDecision> {
    let keys = this.apps.get(appId);
    if (!keys) {
      keys = new Map();
      this.apps.set(appId, keys);
    }
    let slot = keys.get(key);
    if (slot) slot.bucket.reconfigure(limit.perSecond, limit.burst);
    else {
      slot = { bucket: new TokenBucket(limit.perSecond, limit.burst, this.now), lastUsed: 0 };
      keys.set(key, slot);
    }
    slot.lastUsed = this.now();
    const allowed = slot.bucket.take(cost);
    return {
      allowed,
      remaining: Math.floor(slot.bucket.available() + 1e-9),
      retryAfterMs: allowed ? 0 : slot.bucket.retryAfterMs(cost),
    };
  }

  sweep(): void {
    const now = this.now();
    for (const [appId, keys] of this.apps) {
      for (const [key, slot] of keys) {
        if (slot.bucket.isFull() || now - slot.lastUsed >= this.maxIdleMs) keys.delete(key);
      }
      if (keys.size === 0) this.apps.delete(appId);
    }
  }

  /** Buckets held. */
  get size(): number {
    let n = 0;
    for (const keys of this.apps.values()) n += keys.size;
    return n;
  }

  close(): void {
    this.stopSweeper();
  }

  onModuleDestroy(): void {
    this.close();
  }
}
