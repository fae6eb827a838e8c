import type { AppConfig } from '@herald/config';
import type { ControlStore } from '../control-store.js';

/**
 * ControlStore over the apps of the validated node config (file, env or generated dev app): the
 * zero-config default. Immutable for the life of the process. See ControlStore for guarantees.
 */
export class ConfigControlStore implements ControlStore {
  private readonly byId = new Map<string, AppConfig>();
  private readonly byKey = new Map<string, AppConfig>();
  private readonly sorted: AppConfig[];

  constructor(apps: readonly AppConfig[]) {
    for (const app of apps) {
      // The config schema already refuses duplicates; re-checking here keeps the port's
      // "a key belongs to at most one app" guarantee true for any caller building this by hand.
      if (this.byId.has(app.id)) throw new Error(`duplicate app id "${app.id}"`);
      const frozen = deepFreeze(structuredClone(app));
      this.byId.set(app.id, frozen);
      for (const key of app.keys) {
        if (this.byKey.has(key)) throw new Error(`client key of app "${app.id}" is used by another app`);
        this.byKey.set(key, frozen);
      }
    }
    this.sorted = [...this.byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async getApp(appId: string): Promise<AppConfig | undefined> {
    return this.byId.get(appId);
  }

  async getAppByKey(clientKey: string): Promise<AppConfig | undefined> {
    return this.byKey.get(clientKey);
  }

  async listApps(): Promise<AppConfig[]> {
    return [...this.sorted];
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
