/**
 * The contract of the SQL control plane (ControlStore, ControlAdmin, DeviceStore, UsageStore), run
 * unchanged on PGlite and on a real PostgreSQL. Each test gets a fresh database from `open`.
 */
import { randomBytes } from 'node:crypto';
import { appConfigSchema, type AppConfig } from '@herald/config';
import {
  CachingControlStore,
  MasterKeyMismatchError,
  MAX_CLIENT_KEYS_PER_APP,
  migrate,
  MIGRATIONS,
  SecretBox,
  SqlControlStore,
  SqlDeviceStore,
  SqlUsageStore,
  type NewApp,
  type SqlClient,
} from '@herald/control';
import { ErrorCode, HeraldError, type ErrorDef } from '@herald/protocol';
import type { TestDatabase } from './sql-fixtures.js';

export const TEST_MASTER_KEY = Buffer.alloc(32, 7);

export function newAppInput(id: string, over: Partial<NewApp> = {}): NewApp {
  const base = appConfigSchema.parse({ id, keys: ['placeholder-key'], secrets: ['x'.repeat(32)] });
  return {
    id,
    name: base.name,
    enabled: true,
    allowedOrigins: base.allowedOrigins,
    namespaces: base.namespaces,
    personalChannel: base.personalChannel,
    limits: base.limits,
    publicKeys: base.publicKeys,
    ...over,
  };
}

export async function errorOf(p: Promise<unknown>): Promise<ErrorDef | string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof HeraldError) return err.def;
    return err instanceof Error ? err.message : String(err);
  }
  return 'resolved';
}

interface Fixture {
  db: TestDatabase;
  store: SqlControlStore;
  clock: { ms: number };
}

export function controlStoreContract(name: string, open: () => Promise<TestDatabase>): void {
  describe(`SQL control store contract: ${name}`, () => {
    let f: Fixture;

    beforeEach(async () => {
      const db = await open();
      const clock = { ms: Date.UTC(2030, 0, 1, 12) };
      const store = new SqlControlStore(db.client, new SecretBox(TEST_MASTER_KEY), { now: () => clock.ms });
      await store.verifyMasterKey();
      f = { db, store, clock };
    }, 60_000);

    afterEach(async () => {
      await f?.db.drop();
    });

    it('applies migrations once (idempotent)', async () => {
      expect(await migrate(f.db.client)).toEqual([]);
      const rows = await f.db.client.query<{ id: number }>('SELECT id FROM herald_migrations ORDER BY id');
      expect(rows.map((r) => Number(r.id))).toEqual(MIGRATIONS.map((m) => m.id));
    });

    it('creates an app with one client key and one secret, readable through the read port', async () => {
      const created = await f.store.createApp(newAppInput('acme', { allowedOrigins: ['https://acme.io'] }));
      expect(created.app).toMatchObject({ id: 'acme', enabled: true, managedBy: 'api' });
      expect(created.key.key).toMatch(/^hk_[A-Za-z0-9_-]{16}$/);
      expect(created.secret.secret.length).toBeGreaterThanOrEqual(32);
      expect(created.secret.record).toMatchObject({ scopes: ['publish', 'token', 'stats'], live: true });
      expect(created.secret.record.hint).toBe(created.secret.secret.slice(-4));

      const app = (await f.store.getApp('acme'))!;
      expect(app.keys).toEqual([created.key.key]);
      expect(app.secrets).toEqual([created.secret.secret]);
      expect(app.secretScopes).toEqual([['publish', 'token', 'stats']]);
      expect(app.allowedOrigins).toEqual(['https://acme.io']);
      expect(app.namespaces['']).toBeDefined();
      expect((await f.store.getAppByKey(created.key.key))?.id).toBe('acme');
      expect(await f.store.getApp('nope')).toBeUndefined();
      expect(await f.store.getAppByKey('hk_nope')).toBeUndefined();
    });

    it('refuses a duplicate id and lists apps by id', async () => {
      await f.store.createApp(newAppInput('beta'));
      await f.store.createApp(newAppInput('alpha'));
      expect(await errorOf(f.store.createApp(newAppInput('beta')))).toBe(ErrorCode.ALREADY_EXISTS);
      expect((await f.store.listAppRecords()).map((a) => a.id)).toEqual(['alpha', 'beta']);
      expect((await f.store.listApps()).map((a) => a.id)).toEqual(['alpha', 'beta']);
    });

    it('updates options, disables and deletes (with everything the app owns)', async () => {
      const { key } = await f.store.createApp(newAppInput('acme'));
      const updated = await f.store.updateApp('acme', { name: 'Acme Inc', allowedOrigins: ['*'] });
      expect(updated).toMatchObject({ name: 'Acme Inc', allowedOrigins: ['*'] });
      expect((await f.store.setAppEnabled('acme', false)).enabled).toBe(false);
      expect((await f.store.getApp('acme'))?.enabled).toBe(false);
      await new SqlDeviceStore(f.db.client).registerDevice('acme', {
        platform: 'fcm',
        token: 't1',
        userId: 'u1',
      });
      await f.store.deleteApp('acme');
      expect(await f.store.getApp('acme')).toBeUndefined();
      expect(await f.store.getAppByKey(key.key)).toBeUndefined();
      expect(await new SqlDeviceStore(f.db.client).listDevices('acme', 'u1')).toEqual([]);
      expect(await errorOf(f.store.deleteApp('acme'))).toBe(ErrorCode.UNKNOWN_APP);
      expect(await errorOf(f.store.updateApp('acme', { name: 'x' }))).toBe(ErrorCode.UNKNOWN_APP);
    });

    it('adds and revokes client keys; a revoked key stops resolving and is never reissued', async () => {
      const { key: first } = await f.store.createApp(newAppInput('acme'));
      const second = await f.store.createClientKey('acme', { label: 'ios' });
      expect((await f.store.getAppByKey(second.key))?.keys).toEqual([first.key, second.key]);
      const revoked = await f.store.revokeClientKey('acme', first.key);
      expect(revoked.revokedAt).toBeInstanceOf(Date);
      expect(await f.store.getAppByKey(first.key)).toBeUndefined();
      expect((await f.store.getApp('acme'))?.keys).toEqual([second.key]);
      expect((await f.store.listClientKeys('acme')).map((k) => [k.key, k.revokedAt !== undefined])).toEqual([
        [first.key, true],
        [second.key, false],
      ]);
      expect(await errorOf(f.store.revokeClientKey('acme', 'hk_unknown'))).toBe(ErrorCode.NOT_FOUND);
      for (let i = 1; i < MAX_CLIENT_KEYS_PER_APP; i++) await f.store.createClientKey('acme');
      expect(await errorOf(f.store.createClientKey('acme'))).toBe(ErrorCode.BAD_REQUEST);
    });

    it('rotates a secret: both live during the grace period, the old one gone after it', async () => {
      const { secret: old } = await f.store.createApp(newAppInput('acme'));
      const next = await f.store.rotateSecret('acme', old.record.id, { graceSeconds: 60 });
      expect(next.record).toMatchObject({
        rotatedFrom: old.record.id,
        scopes: old.record.scopes,
        live: true,
      });
      expect((await f.store.getApp('acme'))?.secrets).toEqual([old.secret, next.secret]);
      const loaded = await f.store.loadApp('acme');
      expect(loaded?.validUntil).toBe(f.clock.ms + 60_000);
      // A retiring secret cannot be rotated again: at most two live versions of one credential.
      expect(await errorOf(f.store.rotateSecret('acme', old.record.id, { graceSeconds: 60 }))).toBe(
        ErrorCode.ALREADY_EXISTS,
      );
      f.clock.ms += 60_001;
      expect((await f.store.getApp('acme'))?.secrets).toEqual([next.secret]);
      const listed = await f.store.listSecrets('acme');
      expect(listed.map((s) => [s.id, s.live])).toEqual([
        [old.record.id, false],
        [next.record.id, true],
      ]);
      expect(await errorOf(f.store.rotateSecret('acme', old.record.id, { graceSeconds: 0 }))).toBe(
        ErrorCode.NOT_FOUND,
      );
      const third = await f.store.rotateSecret('acme', next.record.id, { graceSeconds: 0 });
      expect((await f.store.getApp('acme'))?.secrets).toEqual([third.secret]);
      expect(await errorOf(f.store.rotateSecret('acme', third.record.id, { graceSeconds: -1 }))).toBe(
        ErrorCode.BAD_REQUEST,
      );
    });

    it('revokes a secret at once and keeps scopes per secret', async () => {
      const { secret: first } = await f.store.createApp(newAppInput('acme'));
      const stats = await f.store.createSecret('acme', { scopes: ['stats'], label: 'dashboard' });
      expect((await f.store.getApp('acme'))?.secretScopes).toEqual([
        ['publish', 'token', 'stats'],
        ['stats'],
      ]);
      await f.store.revokeSecret('acme', first.record.id);
      const app = (await f.store.getApp('acme'))!;
      expect(app.secrets).toEqual([stats.secret]);
      expect(app.secretScopes).toEqual([['stats']]);
      expect(await errorOf(f.store.revokeSecret('acme', 'sec_unknown'))).toBe(ErrorCode.NOT_FOUND);
    });

    it('stores secrets encrypted, and never returns them after creation', async () => {
      const { secret } = await f.store.createApp(newAppInput('acme'));
      const hook = await f.store.createWebhook('acme', {
        url: 'https://acme.io/hook',
        events: ['channel_occupied'],
      });
      const rows = await f.db.client.query<{ sealed: Uint8Array }>('SELECT sealed FROM server_secrets');
      const raw = Buffer.from(rows[0].sealed);
      expect(raw.includes(Buffer.from(secret.secret))).toBe(false);
      expect(raw.includes(Buffer.from(secret.secret.slice(4, 20)))).toBe(false);
      const dump = JSON.stringify([
        await f.store.listSecrets('acme'),
        await f.store.listAppRecords(),
        await f.store.getAppRecord('acme'),
        await f.store.listWebhooks('acme'),
        await f.store.listClientKeys('acme'),
      ]);
      expect(dump).not.toContain(secret.secret);
      expect(dump).not.toContain(hook.signingSecret);
      expect((await f.store.webhookEndpoints('acme'))[0].signingSecret).toBe(hook.signingSecret);
    });

    it('refuses another master key, and a sealed value moved to another row', async () => {
      const { secret } = await f.store.createApp(newAppInput('acme'));
      await f.store.createApp(newAppInput('beta'));
      const other = new SqlControlStore(f.db.client, new SecretBox(Buffer.alloc(32, 9)));
      await expect(other.verifyMasterKey()).rejects.toBeInstanceOf(MasterKeyMismatchError);
      await expect(other.getApp('acme')).rejects.toThrow(MasterKeyMismatchError);
      // Copy acme's sealed secret onto beta's row: AES-GCM's associated data names the owner.
      await f.db.client.query(
        `UPDATE server_secrets SET sealed = (SELECT sealed FROM server_secrets WHERE app_id = 'acme') WHERE app_id = 'beta'`,
      );
      const message = await errorOf(f.store.getApp('beta'));
      expect(message).toMatch(/failed authentication/);
      expect(String(message)).not.toContain(secret.secret);
    });

    it('stores push credentials encrypted and shows only their identifiers', async () => {
      await f.store.createApp(newAppInput('acme'));
      const keyP8 =
        '-----BEGIN PRIVATE KEY-----\nMIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg\n-----END PRIVATE KEY-----\n';
      const record = await f.store.setPushCredential('acme', {
        provider: 'apns',
        keyP8,
        keyId: 'ABC123DEFG',
        teamId: 'TEAM123456',
        bundleId: 'io.acme.app',
        environment: 'sandbox',
      });
      expect(record.metadata).toEqual({
        keyId: 'ABC123DEFG',
        teamId: 'TEAM123456',
        bundleId: 'io.acme.app',
        environment: 'sandbox',
      });
      expect(JSON.stringify(await f.store.listPushCredentials('acme'))).not.toContain('PRIVATE KEY');
      const rows = await f.db.client.query<{ sealed: Uint8Array }>('SELECT sealed FROM push_credentials');
      expect(Buffer.from(rows[0].sealed).includes(Buffer.from('PRIVATE KEY'))).toBe(false);
      expect(await f.store.pushCredential('acme', 'apns')).toMatchObject({ provider: 'apns', keyP8 });
      expect(await f.store.pushCredential('acme', 'fcm')).toBeUndefined();
      await f.store.deletePushCredential('acme', 'apns');
      expect(await f.store.listPushCredentials('acme')).toEqual([]);
      expect(await errorOf(f.store.deletePushCredential('acme', 'apns'))).toBe(ErrorCode.NOT_FOUND);
    });

    it('imports the same config apps from several nodes at once (a cluster starting together)', async () => {
      const apps = ['n1', 'n2', 'n3'].map((id) =>
        appConfigSchema.parse({
          id,
          keys: [`${id}-key-1`],
          secrets: [randomBytes(24).toString('base64url')],
        }),
      );
      // Each import is its own transaction (its own connection on PostgreSQL), as on separate nodes.
      await Promise.all(Array.from({ length: 4 }, () => f.store.importConfigApps(apps)));
      for (const app of apps) expect((await f.store.getAppByKey(app.keys[0]))?.id).toBe(app.id);
    });

    it('imports config apps as managed by file: read-only through the admin side, replaced on re-import', async () => {
      const file = (id: string, key: string): AppConfig =>
        appConfigSchema.parse({ id, keys: [key], secrets: [randomBytes(24).toString('base64url')] });
      const one = file('filed', 'filed-key-1');
      await f.store.importConfigApps([one, file('gone', 'gone-key-1')]);
      expect((await f.store.getAppByKey('filed-key-1'))?.secrets).toEqual(one.secrets);
      expect((await f.store.getApp('filed'))?.secretScopes).toEqual([['publish', 'token', 'stats', 'admin']]);
      expect((await f.store.getAppRecord('filed')).managedBy).toBe('file');
      expect(await errorOf(f.store.updateApp('filed', { name: 'x' }))).toBe(ErrorCode.PERMISSION_DENIED);
      expect(await errorOf(f.store.createClientKey('filed'))).toBe(ErrorCode.PERMISSION_DENIED);
      expect(await errorOf(f.store.deleteApp('filed'))).toBe(ErrorCode.PERMISSION_DENIED);

      const changed = file('filed', 'filed-key-2');
      const result = await f.store.importConfigApps([changed]);
      expect(result).toEqual({ imported: ['filed'], removed: ['gone'] });
      expect(await f.store.getAppByKey('filed-key-1')).toBeUndefined();
      expect((await f.store.getAppByKey('filed-key-2'))?.secrets).toEqual(changed.secrets);
      expect(await f.store.getApp('gone')).toBeUndefined();

      await f.store.createApp(newAppInput('api-app'));
      expect(await errorOf(f.store.importConfigApps([file('api-app', 'api-app-key-1')]))).toMatch(
        /managed by the admin API/,
      );
      expect((await f.store.getAppByKey('filed-key-2'))?.id).toBe('filed');
    });

    it('keeps two apps with identical user ids and device tokens apart', async () => {
      await f.store.createApp(newAppInput('acme'));
      await f.store.createApp(newAppInput('beta'));
      const devices = new SqlDeviceStore(f.db.client);
      await devices.registerDevice('acme', { platform: 'apns', token: 'same-token', userId: 'u1' });
      await devices.registerDevice('beta', { platform: 'apns', token: 'same-token', userId: 'u1' });
      await devices.registerDevice('beta', { platform: 'apns', token: 'same-token', userId: 'u2' });
      expect((await devices.listDevices('acme', 'u1')).map((d) => d.appId)).toEqual(['acme']);
      expect(await devices.listDevices('beta', 'u1')).toEqual([]);
      expect((await devices.listDevices('beta', 'u2')).map((d) => d.token)).toEqual(['same-token']);
      expect(await devices.deleteDevice('beta', 'apns', 'same-token')).toBe(true);
      expect(await devices.listDevices('acme', 'u1')).toHaveLength(1);
      expect(
        await errorOf(devices.registerDevice('nope', { platform: 'fcm', token: 't', userId: 'u' })),
      ).toBe(ErrorCode.UNKNOWN_APP);

      // Resources of one app are not addressable through another.
      const acmeSecret = (await f.store.listSecrets('acme'))[0];
      const acmeKey = (await f.store.listClientKeys('acme'))[0];
      expect(await errorOf(f.store.revokeSecret('beta', acmeSecret.id))).toBe(ErrorCode.NOT_FOUND);
      expect(await errorOf(f.store.revokeClientKey('beta', acmeKey.key))).toBe(ErrorCode.NOT_FOUND);
      expect(await errorOf(f.store.rotateSecret('beta', acmeSecret.id, { graceSeconds: 0 }))).toBe(
        ErrorCode.NOT_FOUND,
      );
      expect((await f.store.getApp('acme'))?.secrets).toHaveLength(1);
    });

    it('meters usage per app and day, summing nodes and keeping the highest peak per node', async () => {
      await f.store.createApp(newAppInput('acme'));
      await f.store.createApp(newAppInput('beta'));
      const usage = new SqlUsageStore(f.db.client);
      const d = (appId: string, peak: number, pub: number) => ({
        appId,
        peakConnections: peak,
        messagesPublished: pub,
        messagesDelivered: pub * 3,
        pushesSent: 1,
      });
      await usage.record('n1', '2030-01-01', [d('acme', 5, 10), d('beta', 1, 1)]);
      await usage.record('n1', '2030-01-01', [d('acme', 3, 10)]);
      await usage.record('n2', '2030-01-01', [d('acme', 2, 1)]);
      await usage.record('n1', '2030-01-02', [d('acme', 1, 1), d('deleted-app', 1, 1)]);
      expect(await usage.read('acme', '2030-01-01', '2030-01-31')).toEqual([
        {
          day: '2030-01-01',
          peakConnections: 7,
          messagesPublished: 21,
          messagesDelivered: 63,
          pushesSent: 3,
        },
        { day: '2030-01-02', peakConnections: 1, messagesPublished: 1, messagesDelivered: 3, pushesSent: 1 },
      ]);
      expect(await usage.read('beta', '2030-01-02', '2030-01-02')).toEqual([]);
    });

    it('persists across a reopen (a restarted node keeps apps, keys, secrets and devices)', async () => {
      const { key, secret } = await f.store.createApp(newAppInput('acme'));
      await new SqlDeviceStore(f.db.client).registerDevice('acme', {
        platform: 'fcm',
        token: 'tok',
        userId: 'u1',
      });
      const client: SqlClient = await f.db.reopen();
      expect(await migrate(client)).toEqual([]);
      const store = new SqlControlStore(client, new SecretBox(TEST_MASTER_KEY));
      await store.verifyMasterKey();
      const app = (await store.getAppByKey(key.key))!;
      expect(app.secrets).toEqual([secret.secret]);
      expect((await new SqlDeviceStore(client).listDevices('acme', 'u1')).map((d) => d.token)).toEqual([
        'tok',
      ]);
    });

    it('serves through the cache, which drops an app on invalidation and never re-caches a stale load', async () => {
      const { key, secret } = await f.store.createApp(newAppInput('acme'));
      const cache = new CachingControlStore(f.store, 60_000, () => f.clock.ms);
      const first = await cache.getAppByKey(key.key);
      expect(first?.secrets).toEqual([secret.secret]);
      expect(Object.isFrozen(first)).toBe(true);
      await f.store.revokeSecret('acme', secret.record.id);
      expect((await cache.getApp('acme'))?.secrets).toEqual([secret.secret]); // cached until told
      cache.invalidate('acme');
      expect((await cache.getApp('acme'))?.secrets).toEqual([]);
      await f.store.revokeClientKey('acme', key.key);
      cache.invalidate('acme');
      expect(await cache.getAppByKey(key.key)).toBeUndefined();
    });
  });
}
