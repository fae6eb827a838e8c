import type { AppConfig } from '@herald/config';
import type { ControlStore } from './control-store.js';

/** An app as loaded from the store, with the moment it changes by itself (a secret retiring). */
export interface LoadedApp {
  app: AppConfig;
  /** Epoch ms after which this snapshot is wrong even without an admin change. */
  validUntil?: number;
}

/** What CachingControlStore reads through (SqlControlStore). */
export interface ControlSource {
  loadApp(appId: string): Promise<LoadedApp | undefined>;
  appIdOfKey(clientKey: string): Promise<string | undefined>;
  listApps(): Promise<AppConfig[]>;
}

/**
 * Invalidation side of a node's tenant cache. The admin API announces every change on the bus
 * (`app_changed`); the Hub, which consumes the control topic on every node, calls `invalidate`.
 */
export interface ControlCache {
  invalidate(appId: string): void;
  invalidateAll(): void;
}

export const CONTROL_CACHE = Symbol('ControlCache');

interface Entry<T> {
  value: T;
  expires: number;
}

/** Unknown keys (and app ids) remembered at most (a prober sending random ones cannot grow memory). */
const MAX_NEGATIVE_KEYS = 10_000;

/**
 * The per-node tenant cache in front of the SQL store (ControlStore guarantees apply; snapshots
 * are frozen and shared):
 * - Entries live `ttlMs` at most (the safety net if an invalidation is lost), and never past the
 *   retirement of a rotated secret, so a retired secret stops working on time without any message.
 * - `invalidate(app)` drops the app, its keys and every remembered unknown key (a new key may have
 *   been created), and bumps the app's generation: a load that started before the invalidation
 *   still answers its caller but is not cached, so a revoked secret cannot be re-cached by a race.
 * - Concurrent misses for one app share one load (a reconnect storm costs one query per app).
 * - Unknown apps and keys are cached too (`undefined`), bounded, so probes do not reach the database.
 */
export class CachingControlStore implements ControlStore, ControlCache {
  private readonly apps = new Map<string, Entry<AppConfig | undefined>>();
  private readonly keys = new Map<string, Entry<string | undefined>>();
  private readonly loading = new Map<string, Promise<AppConfig | undefined>>();
  private readonly generations = new Map<string, number>();
  private keyGeneration = 0;

  constructor(
    private readonly source: ControlSource,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async getApp(appId: string): Promise<AppConfig | undefined> {
    const hit = this.apps.get(appId);
    if (hit && hit.expires > this.now()) return hit.value;
    let pending = this.loading.get(appId);
    if (!pending) {
      pending = this.load(appId).finally(() => this.loading.delete(appId));
      this.loading.set(appId, pending);
    }
    return pending;
  }

  async getAppByKey(clientKey: string): Promise<AppConfig | undefined> {
    let appId: string | undefined;
    const hit = this.keys.get(clientKey);
    if (hit && hit.expires > this.now()) {
      appId = hit.value;
    } else {
      const generation = this.keyGeneration;
      appId = await this.source.appIdOfKey(clientKey);
      if (generation === this.keyGeneration) {
        if (appId === undefined && this.keys.size >= MAX_NEGATIVE_KEYS) this.dropNegativeKeys();
        this.keys.set(clientKey, { value: appId, expires: this.now() + this.ttlMs });
      }
    }
    if (appId === undefined) return undefined;
    const app = await this.getApp(appId);
    // The key map may be older than the app snapshot: a key revoked since is no longer in app.keys.
    return app && app.keys.includes(clientKey) ? app : undefined;
  }

  /** Not cached: listing is an admin operation. */
  listApps(): Promise<AppConfig[]> {
    return this.source.listApps();
  }

  invalidate(appId: string): void {
    this.generations.set(appId, (this.generations.get(appId) ?? 0) + 1);
    this.apps.delete(appId);
    this.loading.delete(appId);
    this.keyGeneration++;
    for (const [key, entry] of this.keys) {
      if (entry.value === appId || entry.value === undefined) this.keys.delete(key);
    }
  }

  invalidateAll(): void {
    for (const appId of this.apps.keys()) this.generations.set(appId, (this.generations.get(appId) ?? 0) + 1);
    this.apps.clear();
    this.loading.clear();
    this.keys.clear();
    this.keyGeneration++;
  }

  private async load(appId: string): Promise<AppConfig | undefined> {
    const generation = this.generations.get(appId) ?? 0;
    const loaded = await this.source.loadApp(appId);
    const app = loaded ? deepFreeze(loaded.app) : undefined;
    if ((this.generations.get(appId) ?? 0) === generation) {
      const expires = Math.min(this.now() + this.ttlMs, loaded?.validUntil ?? Number.POSITIVE_INFINITY);
      if (app === undefined && this.apps.size >= MAX_NEGATIVE_KEYS) {
        for (const [id, entry] of this.apps) if (entry.value === undefined) this.apps.delete(id);
      }
      this.apps.set(appId, { value: app, expires });
    }
    return app;
  }

  private dropNegativeKeys(): void {
    for (const [key, entry] of this.keys) if (entry.value === undefined) this.keys.delete(key);
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
