import type { PushCredentialRecord, PushProvider } from '../../control-admin.js';
import type { SqlQueryable } from '../sql-client.js';

interface CredentialRow {
  provider: PushProvider;
  metadata: Record<string, string>;
  sealed: Uint8Array;
  updated_at: Date;
}

export class PushCredentialsRepository {
  async list(db: SqlQueryable, appId: string): Promise<PushCredentialRecord[]> {
    const rows = await db.query<CredentialRow>(
      'SELECT provider, metadata, sealed, updated_at FROM push_credentials WHERE app_id = $1 ORDER BY provider',
      [appId],
    );
    return rows.map((r) => ({
      provider: r.provider,
      metadata: r.metadata,
      updatedAt: new Date(r.updated_at),
    }));
  }

  async sealed(db: SqlQueryable, appId: string, provider: PushProvider): Promise<Buffer | undefined> {
    const rows = await db.query<{ sealed: Uint8Array }>(
      'SELECT sealed FROM push_credentials WHERE app_id = $1 AND provider = $2',
      [appId, provider],
    );
    return rows[0] ? Buffer.from(rows[0].sealed) : undefined;
  }

  async upsert(
    db: SqlQueryable,
    appId: string,
    provider: PushProvider,
    metadata: Record<string, string>,
    sealed: Buffer,
  ): Promise<PushCredentialRecord> {
    const rows = await db.query<CredentialRow>(
      `INSERT INTO push_credentials (app_id, provider, metadata, sealed) VALUES ($1, $2, $3::jsonb, $4)
       ON CONFLICT (app_id, provider) DO UPDATE SET metadata = EXCLUDED.metadata, sealed = EXCLUDED.sealed, updated_at = now()
       RETURNING provider, metadata, sealed, updated_at`,
      [appId, provider, JSON.stringify(metadata), sealed],
    );
    const r = rows[0];
    return { provider: r.provider, metadata: r.metadata, updatedAt: new Date(r.updated_at) };
  }

  async delete(db: SqlQueryable, appId: string, provider: PushProvider): Promise<boolean> {
    return (
      (
        await db.query<{ provider: string }>(
          'DELETE FROM push_credentials WHERE app_id = $1 AND provider = $2 RETURNING provider',
          [appId, provider],
        )
      ).length === 1
    );
  }
}
