import type { AppLimits, NamespaceOptions, PublicKeyConfig } from '@herald/config';
import type { AppRecord, ClientKeyRecord, ManagedBy, NewApp, AppPatch } from '../../control-admin.js';
import type { SqlQueryable } from '../sql-client.js';

interface AppRow {
  id: string;
  name: string;
  enabled: boolean;
  managed_by: ManagedBy;
  allowed_origins: string[];
  namespaces: Record<string, NamespaceOptions>;
  limits: AppLimits;
  personal_channel: boolean;
  public_keys: PublicKeyConfig[];
  created_at: Date;
  updated_at: Date;
}

interface KeyRow {
  key: string;
  app_id: string;
  label: string | null;
  created_at: Date;
  revoked_at: Date | null;
}

const APP_COLUMNS =
  'id, name, enabled, managed_by, allowed_origins, namespaces, limits, personal_channel, public_keys, created_at, updated_at';

/** Apps and their client keys. Every method takes the connection or transaction to run on. */
export class AppsRepository {
  async list(db: SqlQueryable): Promise<AppRecord[]> {
    return (await db.query<AppRow>(`SELECT ${APP_COLUMNS} FROM apps ORDER BY id`)).map(toApp);
  }

  async get(
    db: SqlQueryable,
    appId: string,
    options: { forUpdate?: boolean } = {},
  ): Promise<AppRecord | undefined> {
    const rows = await db.query<AppRow>(
      `SELECT ${APP_COLUMNS} FROM apps WHERE id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`,
      [appId],
    );
    return rows[0] ? toApp(rows[0]) : undefined;
  }

  /** Inserts the app; false when the id is taken. */
  async insert(db: SqlQueryable, app: NewApp, managedBy: ManagedBy): Promise<boolean> {
    const rows = await db.query<{ id: string }>(
      `INSERT INTO apps (id, name, enabled, managed_by, allowed_origins, namespaces, limits, personal_channel, public_keys)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb, $8, $9::jsonb)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [
        app.id,
        app.name,
        app.enabled,
        managedBy,
        JSON.stringify(app.allowedOrigins),
        JSON.stringify(app.namespaces),
        JSON.stringify(app.limits),
        app.personalChannel,
        JSON.stringify(app.publicKeys),
      ],
    );
    return rows.length === 1;
  }

  /** Overwrites every option of a file-managed app (config import). */
  async replaceFromFile(db: SqlQueryable, app: NewApp): Promise<void> {
    await db.query(
      `UPDATE apps SET name = $2, enabled = $3, allowed_origins = $4::jsonb, namespaces = $5::jsonb,
         limits = $6::jsonb, personal_channel = $7, public_keys = $8::jsonb, updated_at = now()
       WHERE id = $1 AND managed_by = 'file'`,
      [
        app.id,
        app.name,
        app.enabled,
        JSON.stringify(app.allowedOrigins),
        JSON.stringify(app.namespaces),
        JSON.stringify(app.limits),
        app.personalChannel,
        JSON.stringify(app.publicKeys),
      ],
    );
  }

  async update(db: SqlQueryable, appId: string, patch: AppPatch): Promise<void> {
    const sets: string[] = [];
    const params: (string | boolean)[] = [appId];
    const set = (column: string, value: string | boolean, cast = '') => {
      params.push(value);
      sets.push(`${column} = $${params.length}${cast}`);
    };
    if (patch.name !== undefined) set('name', patch.name);
    if (patch.allowedOrigins !== undefined)
      set('allowed_origins', JSON.stringify(patch.allowedOrigins), '::jsonb');
    if (patch.namespaces !== undefined) set('namespaces', JSON.stringify(patch.namespaces), '::jsonb');
    if (patch.limits !== undefined) set('limits', JSON.stringify(patch.limits), '::jsonb');
    if (patch.personalChannel !== undefined) set('personal_channel', patch.personalChannel);
    if (patch.publicKeys !== undefined) set('public_keys', JSON.stringify(patch.publicKeys), '::jsonb');
    sets.push('updated_at = now()');
    await db.query(`UPDATE apps SET ${sets.join(', ')} WHERE id = $1`, params);
  }

  async setEnabled(db: SqlQueryable, appId: string, enabled: boolean): Promise<void> {
    await db.query('UPDATE apps SET enabled = $2, updated_at = now() WHERE id = $1', [appId, enabled]);
  }

  async delete(db: SqlQueryable, appId: string): Promise<boolean> {
    return (
      (await db.query<{ id: string }>('DELETE FROM apps WHERE id = $1 RETURNING id', [appId])).length === 1
    );
  }

  async fileManagedIds(db: SqlQueryable): Promise<string[]> {
    return (await db.query<{ id: string }>(`SELECT id FROM apps WHERE managed_by = 'file' ORDER BY id`)).map(
      (r) => r.id,
    );
  }

  // --- client keys --------------------------------------------------------------------------------

  async keys(db: SqlQueryable, appId: string): Promise<ClientKeyRecord[]> {
    return (
      await db.query<KeyRow>(
        'SELECT key, app_id, label, created_at, revoked_at FROM client_keys WHERE app_id = $1 ORDER BY created_at, key',
        [appId],
      )
    ).map(toKey);
  }

  async liveKeys(db: SqlQueryable, appId: string): Promise<string[]> {
    return (
      await db.query<{ key: string }>(
        'SELECT key FROM client_keys WHERE app_id = $1 AND revoked_at IS NULL ORDER BY created_at, key',
        [appId],
      )
    ).map((r) => r.key);
  }

  async appIdOfKey(db: SqlQueryable, key: string): Promise<string | undefined> {
    const rows = await db.query<{ app_id: string }>(
      'SELECT app_id FROM client_keys WHERE key = $1 AND revoked_at IS NULL',
      [key],
    );
    return rows[0]?.app_id;
  }

  /** Inserts a key; false when the key exists (in any app, revoked or not). */
  async insertKey(db: SqlQueryable, appId: string, key: string, label?: string): Promise<boolean> {
    const rows = await db.query<{ key: string }>(
      'INSERT INTO client_keys (key, app_id, label) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING RETURNING key',
      [key, appId, label ?? null],
    );
    return rows.length === 1;
  }

  async ownerOfKey(db: SqlQueryable, key: string): Promise<string | undefined> {
    return (await db.query<{ app_id: string }>('SELECT app_id FROM client_keys WHERE key = $1', [key]))[0]
      ?.app_id;
  }

  async revokeKey(db: SqlQueryable, appId: string, key: string): Promise<ClientKeyRecord | undefined> {
    const rows = await db.query<KeyRow>(
      `UPDATE client_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE app_id = $1 AND key = $2
       RETURNING key, app_id, label, created_at, revoked_at`,
      [appId, key],
    );
    return rows[0] ? toKey(rows[0]) : undefined;
  }

  async deleteKeys(db: SqlQueryable, appId: string): Promise<void> {
    await db.query('DELETE FROM client_keys WHERE app_id = $1', [appId]);
  }
}

function toApp(r: AppRow): AppRecord {
  return {
    id: r.id,
    name: r.name,
    enabled: r.enabled,
    managedBy: r.managed_by,
    allowedOrigins: r.allowed_origins,
    namespaces: r.namespaces,
    limits: r.limits,
    personalChannel: r.personal_channel,
    publicKeys: r.public_keys,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

function toKey(r: KeyRow): ClientKeyRecord {
  const out: ClientKeyRecord = { key: r.key, appId: r.app_id, createdAt: new Date(r.created_at) };
  if (r.label !== null) out.label = r.label;
  if (r.revoked_at !== null) out.revokedAt = new Date(r.revoked_at);
  return out;
}
