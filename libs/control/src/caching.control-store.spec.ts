import { appConfigSchema, type AppConfig } from '@herald/config';
import { CachingControlStore, type ControlSource, type LoadedApp } from './caching.control-store.js';

const app = (secret: string, validUntil?: number): LoadedApp => ({
  app: appConfigSchema.parse({ id: 'acme', keys: ['acme-key-1'], secrets: [secret] }),
  ...(validUntil !== undefined ? { validUntil } : {}),
});

function source(): ControlSource & { current: LoadedApp | undefined; loads: number; gate?: Promise<void> } {
  const s = {
    current: app('a'.repeat(32)) as LoadedApp | undefined,
    loads: 0,
    gate: undefined as Promise<void> | undefined,
    async loadApp() {
      s.loads++;
      const snapshot = s.current;
      if (s.gate) await s.gate;
      return snapshot;
    },
    async appIdOfKey(key: string) {
      return s.current?.app.keys.includes(key) ? 'acme' : undefined;
    },
    async listApps(): Promise<AppConfig[]> {
      return s.current ? [s.current.app] : [];
    },
  };
  return s;
}

describe('CachingControlStore', () => {
  it('serves from cache within the TTL and reloads after it', async () => {
    let now = 0;
    const src = source();
    const cache = new CachingControlStore(src, 1000, () => now);
    await cache.getApp('acme');
    await cache.getApp('acme');
    expect(src.loads).toBe(1);
    now = 1001;
    await cache.getApp('acme');
    expect(src.loads).toBe(2);
  });

  it('expires a snapshot when a rotated secret retires, before the TTL', async () => {
    let now = 0;
    const src = source();
    src.current = app('a'.repeat(32), 50);
    const cache = new CachingControlStore(src, 60_000, () => now);
    await cache.getApp('acme');
    now = 51;
    src.current = app('b'.repeat(32));
    expect((await cache.getApp('acme'))?.secrets).toEqual(['b'.repeat(32)]);
  });

  it('shares one load between concurrent misses', async () => {
    const src = source();
    const cache = new CachingControlStore(src, 1000);
    await Promise.all([cache.getApp('acme'), cache.getApp('acme'), cache.getAppByKey('acme-key-1')]);
    expect(src.loads).toBe(1);
  });

  it('does not cache a load that an invalidation overtook (no stale secret re-cached)', async () => {
    const src = source();
    const cache = new CachingControlStore(src, 60_000);
    let open!: () => void;
    src.gate = new Promise<void>((r) => (open = r));
    const stale = cache.getApp('acme'); // reads the old secret, then waits
    src.current = app('b'.repeat(32)); // the admin revokes and rotates...
    cache.invalidate('acme'); // ...and the bus delivers app_changed before the load finishes
    open();
    expect((await stale)?.secrets).toEqual(['a'.repeat(32)]);
    src.gate = undefined;
    expect((await cache.getApp('acme'))?.secrets).toEqual(['b'.repeat(32)]);
  });

  it('remembers unknown keys, and forgets them on invalidation', async () => {
    const src = source();
    const cache = new CachingControlStore(src, 60_000);
    expect(await cache.getAppByKey('new-key-1')).toBeUndefined();
    src.current = {
      app: appConfigSchema.parse({
        id: 'acme',
        keys: ['acme-key-1', 'new-key-1'],
        secrets: ['a'.repeat(32)],
      }),
    };
    expect(await cache.getAppByKey('new-key-1')).toBeUndefined(); // cached negative
    cache.invalidate('acme');
    expect((await cache.getAppByKey('new-key-1'))?.id).toBe('acme');
  });
});
