import type { AppConfig } from '@herald/config';

/**
 * ControlStore: the tenant catalogue (apps, their keys, secrets, limits and namespaces).
 *
 * Guarantees (every driver):
 * - Lookups are exact and case-sensitive: `getApp` by app id, `getAppByKey` by public client key.
 *   A client key belongs to at most one app, so `getAppByKey` is unambiguous.
 * - `undefined` means "no such app"; drivers never throw for an unknown id or key. They reject only
 *   when the store itself fails (callers then answer UNAVAILABLE, never UNKNOWN_APP).
 * - Disabled apps are returned like any other: callers check `enabled` and answer UNKNOWN_APP, so
 *   an operator can disable a tenant without losing its configuration.
 * - Returned objects are snapshots the caller must not mutate; a later change to the catalogue is
 *   visible to the next call (drivers may cache for a bounded time, documented on the driver).
 * - `listApps` returns every app, enabled or not, in a stable order (by id).
 *
 * Writes (apps, keys, secret rotation, credentials) are a separate interface, ControlAdmin, which
 * only the SQL drivers implement, so read paths keep depending on this small port. On SQL drivers
 * every node reads through CachingControlStore (TTL, and invalidation through the bus).
 */
export interface ControlStore {
  getApp(appId: string): Promise<AppConfig | undefined>;
  getAppByKey(clientKey: string): Promise<AppConfig | undefined>;
  listApps(): Promise<AppConfig[]>;
}

export const CONTROL_STORE = Symbol('ControlStore');
