import { randomBytes } from 'node:crypto';
import { SECRET_SCOPES, type AppConfig, type SecretScope } from '@herald/config';
import { ErrorCode, HeraldError } from '@herald/protocol';
import type { ControlStore } from '../control-store.js';
import type { ControlSource, LoadedApp } from '../caching.control-store.js';
import {
  MAX_CLIENT_KEYS_PER_APP,
  MAX_LIVE_SECRETS_PER_APP,
  MAX_ROTATION_GRACE_SECONDS,
  MAX_WEBHOOKS_PER_APP,
  type AppPatch,
  type AppRecord,
  type ClientKeyRecord,
  type ControlAdmin,
  type CreatedApp,
  type CreatedSecret,
  type CreatedWebhook,
  type NewApp,
  type NewWebhook,
  type PushCredential,
  type PushCredentialRecord,
  type PushProvider,
  type SecretRecord,
  type WebhookPatch,
  type WebhookRecord,
} from '../control-admin.js';
import { MasterKeyMismatchError, type SecretBox } from '../crypto/secret-box.js';
import { AppsRepository } from './repositories/apps.repository.js';
import { PushCredentialsRepository } from './repositories/push-credentials.repository.js';
import { SecretsRepository, type SecretRow } from './repositories/secrets.repository.js';
import { WebhooksRepository } from './repositories/webhooks.repository.js';
import type { SqlClient, SqlQueryable } from './sql-client.js';

/** Arbitrary constant naming the config-app import among the database's advisory locks. */
const CONFIG_IMPORT_LOCK = 48_157_006;

/** Scopes of a secret created with an app, or imported from a config file (file secrets: all). */
export const DEFAULT_SECRET_SCOPES: readonly SecretScope[] = ['publish', 'token', 'stats'];

const MASTER_KEY_CHECK = 'master_key_check';
const MASTER_KEY_CHECK_TEXT = 'herald control store';

export interface SqlControlStoreOptions {
  /** Milliseconds since the epoch (default Date.now); secret retirement is decided with it. */
  now?: () => number;
}

export function newClientKey(): string {
  return `hk_${randomBytes(12).toString('base64url')}`;
}

export function newSecret(): string {
  return `hsk_${randomBytes(32).toString('base64url')}`;
}

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(9).toString('base64url')}`;
}

const secretAad = (appId: string, id: string) => `app/${appId}/secret/${id}`;
const webhookAad = (appId: string, id: string) => `app/${appId}/webhook/${id}`;
const newWebhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const pushAad = (appId: string, provider: PushProvider) => `app/${appId}/push/${provider}`;

/**
 * ControlStore and ControlAdmin on SQL (PGlite or PostgreSQL through SqlClient). The read side
 * answers uncached (CachingControlStore sits in front of it on every node); the write side is one
 * transaction per call. All SQL is in the repositories; this class holds the rules (limits,
 * rotation, managed-by-file) and the encryption. See ControlStore and ControlAdmin for guarantees.
 */
export class SqlControlStore implements ControlStore, ControlSource, ControlAdmin {
  private readonly apps = new AppsRepository();
  private readonly secrets = new SecretsRepository();
  private readonly webhooks = new WebhooksRepository();
  private readonly push = new PushCredentialsRepository();
  private readonly now: () => number;

  constructor(
    private readonly db: SqlClient,
    private readonly box: SecretBox,
    options: SqlControlStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Refuses a master key other than the one the store was first written with (a sealed check
   * value is stored on first use), before any secret is needed.
   */
  async verifyMasterKey(): Promise<void> {
    const stored = await this.secrets.initMeta(
      this.db,
      MASTER_KEY_CHECK,
      this.box.seal(MASTER_KEY_CHECK_TEXT, MASTER_KEY_CHECK),
    );
    try {
      if (this.box.openText(stored, MASTER_KEY_CHECK) === MASTER_KEY_CHECK_TEXT) return;
    } catch (err) {
      if (err instanceof MasterKeyMismatchError) throw err;
    }
    throw new MasterKeyMismatchError();
  }

  // --- read port ----------------------------------------------------------------------------------

  async getApp(appId: string): Promise<AppConfig | undefined> {
    return (await this.loadApp(appId))?.app;
  }

  async getAppByKey(clientKey: string): Promise<AppConfig | undefined> {
    const appId = await this.appIdOfKey(clientKey);
    return appId === undefined ? undefined : this.getApp(appId);
  }

  async listApps(): Promise<AppConfig[]> {
    const out: AppConfig[] = [];
    for (const record of await this.apps.list(this.db)) {
      const loaded = await this.loadApp(record.id);
      if (loaded) out.push(loaded.app);
    }
    return out;
  }

  async appIdOfKey(clientKey: string): Promise<string | undefined> {
    return this.apps.appIdOfKey(this.db, clientKey);
  }

  /** The app as the data plane sees it: live keys, live secrets decrypted, and when that changes next. */
  async loadApp(appId: string): Promise<LoadedApp | undefined> {
    const [record, keys, secretRows] = await Promise.all([
      this.apps.get(this.db, appId),
      this.apps.liveKeys(this.db, appId),
      this.secrets.unrevoked(this.db, appId),
    ]);
    if (!record) return undefined;
    const now = this.now();
    const live = secretRows.filter((r) => r.retires_at === null || new Date(r.retires_at).getTime() > now);
    const retirements = live
      .filter((r) => r.retires_at !== null)
      .map((r) => new Date(r.retires_at as Date).getTime());
    const app: AppConfig = {
      id: record.id,
      name: record.name,
      enabled: record.enabled,
      keys,
      secrets: live.map((r) => this.box.openText(Buffer.from(r.sealed), secretAad(appId, r.id))),
      secretScopes: live.map((r) => [...r.scopes]),
      publicKeys: record.publicKeys,
      allowedOrigins: record.allowedOrigins,
      namespaces: record.namespaces,
      personalChannel: record.personalChannel,
      limits: record.limits,
    };
    return retirements.length > 0 ? { app, validUntil: Math.min(...retirements) } : { app };
  }

  // --- apps ---------------------------------------------------------------------------------------

  async listAppRecords(): Promise<AppRecord[]> {
    return this.apps.list(this.db);
  }

  async getAppRecord(appId: string): Promise<AppRecord> {
    return this.requireApp(this.db, appId);
  }

  async createApp(input: NewApp): Promise<CreatedApp> {
    return this.db.transaction(async (tx) => {
      if (!(await this.apps.insert(tx, input, 'api'))) {
        throw new HeraldError(ErrorCode.ALREADY_EXISTS, `app "${input.id}" already exists`);
      }
      const key = await this.insertClientKey(tx, input.id);
      const secret = await this.insertSecret(tx, input.id, { scopes: [...DEFAULT_SECRET_SCOPES] });
      return { app: await this.requireApp(tx, input.id), key, secret };
    });
  }

  async updateApp(appId: string, patch: AppPatch): Promise<AppRecord> {
    return this.db.transaction(async (tx) => {
      await this.requireApiManaged(tx, appId);
      await this.apps.update(tx, appId, patch);
      return this.requireApp(tx, appId);
    });
  }

  async setAppEnabled(appId: string, enabled: boolean): Promise<AppRecord> {
    return this.db.transaction(async (tx) => {
      await this.requireApiManaged(tx, appId);
      await this.apps.setEnabled(tx, appId, enabled);
      return this.requireApp(tx, appId);
    });
  }

  async deleteApp(appId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.requireApiManaged(tx, appId);
      await this.apps.delete(tx, appId);
    });
  }

  // --- client keys --------------------------------------------------------------------------------

  async listClientKeys(appId: string): Promise<ClientKeyRecord[]> {
    await this.requireApp(this.db, appId);
    return this.apps.keys(this.db, appId);
  }

  async createClientKey(appId: string, options: { label?: string } = {}): Promise<ClientKeyRecord> {
    return this.db.transaction(async (tx) => {
      await this.requireApiManaged(tx, appId);
      const live = await this.apps.liveKeys(tx, appId);
      if (live.length >= MAX_CLIENT_KEYS_PER_APP) {
        throw new HeraldError(
          ErrorCode.BAD_REQUEST,
          `an app has at most ${MAX_CLIENT_KEYS_PER_APP} live client keys`,
        );
      }
      return this.insertClientKey(tx, appId, options.label);
    });
  }

  async revokeClientKey(appId: string, key: string): Promise<ClientKeyRecord> {
    return this.db.transaction(async (tx) => {
      await this.requireApiManaged(tx, appId);
      const revoked = await this.apps.revokeKey(tx, appId, key);
      if (!revoked) throw new HeraldError(ErrorCode.NOT_FOUND, 'no such client key in this app');
      return revoked;
    });
  }

  // --- server secrets -----------------------------------------------------------------------------

  async listSecrets(appId: string): Promise<SecretRecord[]> {
    await this.requireApp(this.db, appId);
    return (await this.secrets.list(this.db, appId)).map((r) => this.toSecretRecord(r));
  }

  async createSecret(
    appId: string,
    options: { scopes: SecretScope[]; label?: string },
  ): Promise<CreatedSecret> {
    return this.db.transaction(async (tx) => {
      await this.requireApiManaged(tx, appId);
      await this.checkSecretRoom(tx, appId);
      return this.insertSecret(tx, appId, options);
    });
  }

  async rotateSecret(
    appId: string,
    secretId: string,
    options: { graceSeconds: number },
  ): Promise<CreatedSecret> {
    const grace = options.graceSeconds;
    if (!Number.isInteger(grace) || grace < 0 || grace > MAX_ROTATION_GRACE_SECONDS) {
      throw new HeraldError(ErrorCode.BAD_REQUEST, `grace must be 0-${MAX_ROTATION_GRACE_SECONDS} seconds`);
    }
    return this.db.transaction(async (tx) => {
      await this.requireApiManaged(tx, appId);
      const old = await this.secrets.get(tx, appId, secretId, { forUpdate: true });
      if (!old) throw new HeraldError(ErrorCode.NOT_FOUND, 'no such secret in this app');
      if (!this.isLive(old)) throw new HeraldError(ErrorCode.NOT_FOUND, 'the secret is revoked or retired');
      if (old.retires_at !== null) {
        throw new HeraldError(
          ErrorCode.ALREADY_EXISTS,
          'the secret is already being rotated; rotate its successor, or revoke it to finish the rotation',
        );
      }
      await this.checkSecretRoom(tx, appId);
      const created = await this.insertSecret(tx, appId, {
        scopes: [...old.scopes],
        label: old.label ?? undefined,
        rotatedFrom: old.id,
      });
      await this.secrets.setRetiresAt(tx, appId, old.id, new Date(this.now() + grace * 1000));
      return created;
    });
  }

  async revokeSecret(appId: string, secretId: string): Promise<SecretRecord> {
    return this.db.transaction(async (tx) => {
      await this.requireApiManaged(tx, appId);
      const row = await this.secrets.revoke(tx, appId, secretId);
      if (!row) throw new HeraldError(ErrorCode.NOT_FOUND, 'no such secret in this app');
      return this.toSecretRecord(row);
    });
  }

  // --- webhooks -----------------------------------------------------------------------------------

  async listWebhooks(appId: string): Promise<WebhookRecord[]> {
    await this.requireApp(this.db, appId);
    return (await this.webhooks.list(this.db, appId)).map(
      ({ sealedSecret: _sealed, sealedPreviousSecret: _previous, ...record }) => this.liveRotation(record),
    );
  }

  /** Drops `previousSecretExpiresAt` once it has passed (the previous secret no longer signs). */
  private liveRotation(record: WebhookRecord): WebhookRecord {
    const { previousSecretExpiresAt: until, ...rest } = record;
    return until && until.getTime() > this.now() ? { ...rest, previousSecretExpiresAt: until } : rest;
  }

  async createWebhook(appId: string, input: NewWebhook): Promise<CreatedWebhook> {
    return this.db.transaction(async (tx) => {
      await this.requireApiManaged(tx, appId);
      if ((await this.webhooks.count(tx, appId)) >= MAX_WEBHOOKS_PER_APP) {
        throw new HeraldError(
          ErrorCode.BAD_REQUEST,
          `an app has at most ${MAX_WEBHOOKS_PER_APP} webhook endpoints`,
        );
      }
      const id = newId('wh');
      const signingSecret = newWebhookSecret();
      const record = await this.webhooks.insert(tx, {
        id,
        appId,
        url: input.url,
        events: input.events,
        sealedSecret: this.box.seal(signingSecret, webhookAad(appId, id)),
        ...(input.channelPrefixes !== undefined ? { channelPrefixes: input.channelPrefixes } : {}),
        ...(input.format !== undefined ? { format: input.format } : {}),
        ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
      });
      return { record, signingSecret };
    });
  }

  async updateWebhook(appId: string, webhookId: string, patch: WebhookPatch): Promise<WebhookRecord> {
    return this.db.transaction(async (tx) => {
      await this.requireApiManaged(tx, appId);
      const record = await this.webhooks.update(tx, appId, webhookId, patch);
      if (!record) throw new HeraldError(ErrorCode.NOT_FOUND, 'no such webhook endpoint in this app');
      return this.liveRotation(record);
    });
  }

  async rotateWebhookSecret(
    appId: string,
    webhookId: string,
    options: { graceSeconds: number },
  ): Promise<CreatedWebhook> {
    return this.db.transaction(async (tx) => {
      await this.requireApiManaged(tx, appId);
      const current = await this.webhooks.get(tx, appId, webhookId, true);
      if (!current) throw new HeraldError(ErrorCode.NOT_FOUND, 'no such webhook endpoint in this app');
      const grace = Math.max(0, Math.min(options.graceSeconds, MAX_ROTATION_GRACE_SECONDS));
      const aad = webhookAad(appId, webhookId);
      const previous = this.box.openText(current.sealedSecret, aad);
      const signingSecret = newWebhookSecret();
      const record = await this.webhooks.rotate(tx, appId, webhookId, {
        secret: this.box.seal(signingSecret, aad),
        previous: grace > 0 ? this.box.seal(previous, `${aad}/previous`) : null,
        previousExpiresAt: grace > 0 ? new Date(this.now() + grace * 1000) : null,
      });
      if (!record) throw new HeraldError(ErrorCode.NOT_FOUND, 'no such webhook endpoint in this app');
      return { record: this.liveRotation(record), signingSecret };
    });
  }

  async deleteWebhook(appId: string, webhookId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.requireApiManaged(tx, appId);
      if (!(await this.webhooks.delete(tx, appId, webhookId))) {
        throw new HeraldError(ErrorCode.NOT_FOUND, 'no such webhook endpoint in this app');
      }
    });
  }

  async webhookEndpoints(
    appId: string,
  ): Promise<(WebhookRecord & { signingSecret: string; signingSecrets: string[] })[]> {
    return (await this.webhooks.list(this.db, appId)).map(
      ({ sealedSecret, sealedPreviousSecret, ...rest }) => {
        const aad = webhookAad(appId, rest.id);
        const record = this.liveRotation(rest);
        const signingSecret = this.box.openText(sealedSecret, aad);
        const signingSecrets = [signingSecret];
        if (record.previousSecretExpiresAt && sealedPreviousSecret)
          signingSecrets.push(this.box.openText(sealedPreviousSecret, `${aad}/previous`));
        return { ...record, signingSecret, signingSecrets };
      },
    );
  }

  // --- push credentials ---------------------------------------------------------------------------

  async listPushCredentials(appId: string): Promise<PushCredentialRecord[]> {
    await this.requireApp(this.db, appId);
    return this.push.list(this.db, appId);
  }

  async setPushCredential(appId: string, credential: PushCredential): Promise<PushCredentialRecord> {
    return this.db.transaction(async (tx) => {
      await this.requireApiManaged(tx, appId);
      const sealed = this.box.seal(JSON.stringify(credential), pushAad(appId, credential.provider));
      return this.push.upsert(tx, appId, credential.provider, pushMetadata(credential), sealed);
    });
  }

  async deletePushCredential(appId: string, provider: PushProvider): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.requireApiManaged(tx, appId);
      if (!(await this.push.delete(tx, appId, provider))) {
        throw new HeraldError(ErrorCode.NOT_FOUND, `no ${provider} credential in this app`);
      }
    });
  }

  async pushCredential(appId: string, provider: PushProvider): Promise<PushCredential | undefined> {
    const sealed = await this.push.sealed(this.db, appId, provider);
    if (!sealed) return undefined;
    return JSON.parse(this.box.openText(sealed, pushAad(appId, provider))) as PushCredential;
  }

  // --- config-file apps ---------------------------------------------------------------------------

  /**
   * Makes the store's file-managed apps exactly `apps` (the node config): inserts or overwrites
   * them (keys and secrets replaced, secrets with every scope) and deletes file-managed apps that
   * left the file. Refuses an id or client key that belongs to an API-managed app rather than
   * overwriting it. Returns the ids that changed, for cache invalidation.
   */
  async importConfigApps(apps: readonly AppConfig[]): Promise<{ imported: string[]; removed: string[] }> {
    return this.db.transaction(async (tx) => {
      // Nodes of a cluster start together with the same config file: one import at a time, so a
      // node never finds the keys another node's concurrent import of the same app just inserted.
      await tx.query('SELECT pg_advisory_xact_lock($1)', [CONFIG_IMPORT_LOCK]);
      const imported: string[] = [];
      for (const app of apps) {
        const existing = await this.apps.get(tx, app.id, { forUpdate: true });
        const fields: NewApp = {
          id: app.id,
          name: app.name,
          enabled: app.enabled,
          allowedOrigins: app.allowedOrigins,
          namespaces: app.namespaces,
          personalChannel: app.personalChannel,
          limits: app.limits,
          publicKeys: app.publicKeys,
        };
        if (existing && existing.managedBy !== 'file') {
          throw new Error(
            `config app "${app.id}" exists in the control store and is managed by the admin API; ` +
              'rename it in the config file or delete it with `herald apps delete`',
          );
        }
        if (existing) await this.apps.replaceFromFile(tx, fields);
        else await this.apps.insert(tx, fields, 'file');
        await this.apps.deleteKeys(tx, app.id);
        for (const key of app.keys) {
          if (!(await this.apps.insertKey(tx, app.id, key))) {
            const owner = await this.apps.ownerOfKey(tx, key);
            throw new Error(
              `client key ${key} of config app "${app.id}" belongs to app "${owner}" in the control store`,
            );
          }
        }
        await this.secrets.deleteAll(tx, app.id);
        for (const [i, secret] of app.secrets.entries()) {
          const id = `file_${app.id}_${i}`;
          await this.secrets.insert(tx, {
            id,
            appId: app.id,
            label: 'config file',
            scopes: [...(app.secretScopes?.[i] ?? SECRET_SCOPES)],
            sealed: this.box.seal(secret, secretAad(app.id, id)),
            hint: secret.slice(-4),
            position: i,
          });
        }
        imported.push(app.id);
      }
      const keep = new Set(apps.map((a) => a.id));
      const removed: string[] = [];
      for (const id of await this.apps.fileManagedIds(tx)) {
        if (!keep.has(id)) {
          await this.apps.delete(tx, id);
          removed.push(id);
        }
      }
      return { imported, removed };
    });
  }

  // --- helpers ------------------------------------------------------------------------------------

  private async requireApp(db: SqlQueryable, appId: string): Promise<AppRecord> {
    const app = await this.apps.get(db, appId);
    if (!app) throw new HeraldError(ErrorCode.UNKNOWN_APP, `no app "${appId}"`);
    return app;
  }

  /** Locks the app row for the transaction and refuses file-managed apps. */
  private async requireApiManaged(tx: SqlQueryable, appId: string): Promise<AppRecord> {
    const app = await this.apps.get(tx, appId, { forUpdate: true });
    if (!app) throw new HeraldError(ErrorCode.UNKNOWN_APP, `no app "${appId}"`);
    if (app.managedBy === 'file') {
      throw new HeraldError(
        ErrorCode.PERMISSION_DENIED,
        `app "${appId}" is managed by the config file; change it there (it is re-imported at start)`,
      );
    }
    return app;
  }

  private async insertClientKey(tx: SqlQueryable, appId: string, label?: string): Promise<ClientKeyRecord> {
    for (;;) {
      const key = newClientKey();
      // 96 random bits: a collision is astronomically unlikely, but a unique key is a guarantee.
      if (await this.apps.insertKey(tx, appId, key, label)) {
        return (await this.apps.keys(tx, appId)).find((k) => k.key === key) as ClientKeyRecord;
      }
    }
  }

  private async insertSecret(
    tx: SqlQueryable,
    appId: string,
    options: { scopes: SecretScope[]; label?: string; rotatedFrom?: string },
  ): Promise<CreatedSecret> {
    const id = newId('sec');
    const secret = newSecret();
    const row = await this.secrets.insert(tx, {
      id,
      appId,
      label: options.label,
      scopes: [...new Set(options.scopes)],
      sealed: this.box.seal(secret, secretAad(appId, id)),
      hint: secret.slice(-4),
      position: await this.secrets.nextPosition(tx, appId),
      rotatedFrom: options.rotatedFrom,
    });
    return { record: this.toSecretRecord(row), secret };
  }

  private async checkSecretRoom(tx: SqlQueryable, appId: string): Promise<void> {
    const live = (await this.secrets.unrevoked(tx, appId)).filter((r) => this.isLive(r));
    if (live.length >= MAX_LIVE_SECRETS_PER_APP) {
      throw new HeraldError(
        ErrorCode.BAD_REQUEST,
        `an app has at most ${MAX_LIVE_SECRETS_PER_APP} live secrets`,
      );
    }
  }

  private isLive(r: SecretRow): boolean {
    return r.revoked_at === null && (r.retires_at === null || new Date(r.retires_at).getTime() > this.now());
  }

  private toSecretRecord(r: SecretRow): SecretRecord {
    const out: SecretRecord = {
      id: r.id,
      appId: r.app_id,
      scopes: [...r.scopes],
      hint: r.hint,
      createdAt: new Date(r.created_at),
      live: this.isLive(r),
    };
    if (r.label !== null) out.label = r.label;
    if (r.rotated_from !== null) out.rotatedFrom = r.rotated_from;
    if (r.retires_at !== null) out.retiresAt = new Date(r.retires_at);
    if (r.revoked_at !== null) out.revokedAt = new Date(r.revoked_at);
    return out;
  }
}

/** What may be shown about a credential: identifiers, never key material. */
function pushMetadata(c: PushCredential): Record<string, string> {
  if (c.provider === 'apns') {
    return { keyId: c.keyId, teamId: c.teamId, bundleId: c.bundleId, environment: c.environment };
  }
  return { projectId: c.serviceAccount.project_id, clientEmail: c.serviceAccount.client_email };
}
