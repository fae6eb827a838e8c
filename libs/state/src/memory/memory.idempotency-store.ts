import type { OnModuleDestroy } from '@nestjs/common';
import type { ClaimResult, IdempotencyStore } from '../idempotency-store.js';
import { DEFAULT_SWEEP_INTERVAL_MS, type MemoryStoreOptions, startSweeper, TtlMap } from './ttl-map.js';

type Entry = { status: 'pending' } | { status: 'done'; result: string };

const PENDING: Entry = { status: 'pending' };

/** IdempotencyStore in process memory (see the port for the guarantees). */
export class MemoryIdempotencyStore implements IdempotencyStore, OnModuleDestroy {
  private readonly keys: TtlMap<Entry>;
  private readonly stopSweeper: () => void;

  constructor(options: MemoryStoreOptions = {}) {
    this.keys = new TtlMap(options.now ?? Date.now);
    this.stopSweeper = startSweeper(() => this.sweep(), options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS);
  }

  async claim(appId: string, key: string, ttlMs: number): Promise<ClaimResult> {
    const entry = this.keys.get(appId, key);
    if (entry)
      return entry.status === 'done' ? { status: 'done', result: entry.result } : { status: 'pending' };
    this.keys.set(appId, key, PENDING, ttlMs);
    return { status: 'claimed' };
  }

  async complete(appId: string, key: string, result: string, ttlMs: number): Promise<void> {
    this.keys.set(appId, key, { status: 'done', result }, ttlMs);
  }

  async release(appId: string, key: string): Promise<void> {
    if (this.keys.get(appId, key)?.status === 'pending') this.keys.delete(appId, key);
  }

  sweep(): void {
    this.keys.sweep();
  }

  /** Keys held, expired or not yet swept. */
  get size(): number {
    return this.keys.size;
  }

  close(): void {
    this.stopSweeper();
  }

  onModuleDestroy(): void {
    this.close();
  }
}
