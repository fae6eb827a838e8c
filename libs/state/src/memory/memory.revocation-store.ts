import type { OnModuleDestroy } from '@nestjs/common';
import type { RevocationStore } from '../revocation-store.js';
import { DEFAULT_SWEEP_INTERVAL_MS, type MemoryStoreOptions, startSweeper, TtlMap } from './ttl-map.js';

/** RevocationStore in process memory (see the port for the guarantees). */
export class MemoryRevocationStore implements RevocationStore, OnModuleDestroy {
  private readonly tokens: TtlMap<true>;
  private readonly users: TtlMap<number>;
  private readonly now: () => number;
  private readonly stopSweeper: () => void;

  constructor(options: MemoryStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.tokens = new TtlMap(this.now);
    this.users = new TtlMap(this.now);
    this.stopSweeper = startSweeper(() => this.sweep(), options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS);
  }

  async revokeToken(appId: string, jti: string, ttlMs: number): Promise<void> {
    const until = this.now() + ttlMs;
    const prev = this.tokens.entry(appId, jti);
    this.tokens.setUntil(appId, jti, true, Math.max(until, prev?.expiresAt ?? until));
  }

  async isTokenRevoked(appId: string, jti: string): Promise<boolean> {
    return this.tokens.get(appId, jti) === true;
  }

  async revokeUser(appId: string, user: string, issuedBefore: number, ttlMs: number): Promise<void> {
    // Never lower a mark or shorten its life: an earlier revocation still covers its tokens.
    const until = this.now() + ttlMs;
    const prev = this.users.entry(appId, user);
    this.users.setUntil(
      appId,
      user,
      Math.max(issuedBefore, prev?.value ?? issuedBefore),
      Math.max(until, prev?.expiresAt ?? until),
    );
  }

  async userRevokedBefore(appId: string, user: string): Promise<number | undefined> {
    return this.users.get(appId, user);
  }

  sweep(): void {
    this.tokens.sweep();
    this.users.sweep();
  }

  /** Entries held, expired or not yet swept. */
  get size(): number {
    return this.tokens.size + this.users.size;
  }

  close(): void {
    this.stopSweeper();
  }

  onModuleDestroy(): void {
    this.close();
  }
}
