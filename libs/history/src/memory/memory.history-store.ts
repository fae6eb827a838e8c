import { randomBytes } from 'node:crypto';
import type { OnModuleDestroy } from '@nestjs/common';
import type { StreamPosition } from '@herald/protocol';
import type { AppendOptions, HistoryEntry, HistoryStore, ReadOptions, ReadResult } from '../history-store.js';

export interface MemoryHistoryStoreOptions {
  /** Clock for every TTL decision; default Date.now. */
  now?: () => number;
  /** How often expired streams and entries are dropped from memory; default 10 s. 0 disables. */
  sweepIntervalMs?: number;
}

/** Meta TTL of streams created by `read`/`position` (no append, so no options): the port's default. */
const DEFAULT_META_TTL_MS = 3_600_000;

interface StoredEntry {
  offset: number;
  value: string;
  expiresAt: number;
}

interface Stream {
  epoch: string;
  top: number;
  metaExpiresAt: number;
  /** Ring buffer: `count` entries starting at `start`, ascending offsets. */
  ring: (StoredEntry | undefined)[];
  start: number;
  count: number;
}

/**
 * HistoryStore in process memory: per (app, channel) a ring buffer of at most `size` entries plus
 * its epoch and top. Lost on restart, which the random epoch makes visible to recovering clients.
 * Atomicity is free: every method runs to completion synchronously inside the event loop.
 */
export class MemoryHistoryStore implements HistoryStore, OnModuleDestroy {
  private readonly now: () => number;
  /** app → channel → stream; nested so apps never share a key, whatever the names. */
  private readonly apps = new Map<string, Map<string, Stream>>();
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(options: MemoryHistoryStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    const interval = options.sweepIntervalMs ?? 10_000;
    if (interval > 0) {
      this.timer = setInterval(() => this.sweep(), interval);
      this.timer.unref();
    }
  }

  async append(
    appId: string,
    channel: string,
    value: string,
    options: AppendOptions,
  ): Promise<StreamPosition> {
    if (!(options.size >= 1)) throw new RangeError(`history size must be >= 1, got ${options.size}`);
    const now = this.now();
    const s = this.stream(appId, channel, now);
    const size = Math.floor(options.size);
    if (s.ring.length !== size) resize(s, size);
    this.dropExpired(s, now);
    const entry: StoredEntry = { offset: ++s.top, value, expiresAt: now + options.ttlMs };
    if (s.count === size) {
      // Full: overwrite the oldest.
      s.ring[s.start] = entry;
      s.start = (s.start + 1) % size;
    } else {
      s.ring[(s.start + s.count) % size] = entry;
      s.count++;
    }
    s.metaExpiresAt = now + (options.metaTtlMs ?? Math.max(options.ttlMs, DEFAULT_META_TTL_MS));
    return { offset: s.top, epoch: s.epoch };
  }

  async read(appId: string, channel: string, options: ReadOptions): Promise<ReadResult> {
    const now = this.now();
    const s = this.stream(appId, channel, now);
    this.dropExpired(s, now);
    const position = { offset: s.top, epoch: s.epoch };
    const limit = options.limit === undefined || options.limit < 0 ? Infinity : options.limit;
    const since = options.since?.offset ?? 0;
    const entries: HistoryEntry[] = [];
    const cap = s.ring.length;
    // Ascending from the oldest, or descending from the newest; either way stop at `limit`.
    for (let i = 0; i < s.count && entries.length < limit; i++) {
      const e = s.ring[(s.start + (options.reverse ? s.count - 1 - i : i)) % cap] as StoredEntry;
      if (e.offset <= since) {
        if (options.reverse) break; // everything older is at or below `since` too
        continue;
      }
      if (e.expiresAt > now) entries.push({ offset: e.offset, value: e.value });
    }
    return { entries, position };
  }

  async position(appId: string, channel: string): Promise<StreamPosition> {
    const s = this.stream(appId, channel, this.now());
    return { offset: s.top, epoch: s.epoch };
  }

  async remove(appId: string, channel: string): Promise<void> {
    const channels = this.apps.get(appId);
    if (!channels) return;
    channels.delete(channel);
    if (channels.size === 0) this.apps.delete(appId);
  }

  /** Drops expired streams and entries; runs on a timer, callable directly. */
  sweep(): void {
    const now = this.now();
    for (const [appId, channels] of this.apps) {
      for (const [channel, s] of channels) {
        if (s.metaExpiresAt <= now) channels.delete(channel);
        else this.dropExpired(s, now);
      }
      if (channels.size === 0) this.apps.delete(appId);
    }
  }

  /** Number of streams held (for boundedness tests and metrics). */
  streamCount(): number {
    let n = 0;
    for (const channels of this.apps.values()) n += channels.size;
    return n;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  onModuleDestroy(): void {
    this.close();
  }

  /** The live stream, created (new epoch, top 0) when missing or its meta expired. */
  private stream(appId: string, channel: string, now: number): Stream {
    let channels = this.apps.get(appId);
    if (!channels) {
      channels = new Map();
      this.apps.set(appId, channels);
    }
    let s = channels.get(channel);
    if (!s || s.metaExpiresAt <= now) {
      s = {
        epoch: randomBytes(6).toString('base64url'),
        top: 0,
        metaExpiresAt: now + DEFAULT_META_TTL_MS,
        ring: [],
        start: 0,
        count: 0,
      };
      channels.set(channel, s);
    }
    return s;
  }

  /**
   * Frees expired entries from the oldest end. Entries of one channel normally share a TTL, so they
   * expire in order; an entry expiring out of order is skipped by `read` until it reaches the end.
   */
  private dropExpired(s: Stream, now: number): void {
    const cap = s.ring.length;
    while (s.count > 0) {
      const e = s.ring[s.start] as StoredEntry;
      if (e.expiresAt > now) return;
      s.ring[s.start] = undefined;
      s.start = (s.start + 1) % cap;
      s.count--;
    }
  }
}

/** Re-lays the ring for a new capacity (the channel's history size changed), keeping the newest. */
function resize(s: Stream, size: number): void {
  const kept: StoredEntry[] = [];
  for (let i = Math.max(0, s.count - size); i < s.count; i++) {
    kept.push(s.ring[(s.start + i) % s.ring.length] as StoredEntry);
  }
  s.ring = new Array<StoredEntry | undefined>(size).fill(undefined);
  kept.forEach((e, i) => (s.ring[i] = e));
  s.start = 0;
  s.count = kept.length;
}
