import type { SecretScope } from '@herald/config';
import type { SqlQueryable } from '../sql-client.js';

export interface SecretRow {
  id: string;
  app_id: string;
  label: string | null;
  scopes: SecretScope[];
  sealed: Uint8Array;
  hint: string;
  position: number;
  rotated_from: string | null;
  created_at: Date;
  retires_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS =
  'id, app_id, label, scopes, sealed, hint, position, rotated_from, created_at, retires_at, revoked_at';

/** Server secrets (sealed), and the master-key check value in control_meta. */
export class SecretsRepository {
  async list(db: SqlQueryable, appId: string): Promise<SecretRow[]> {
    return db.query<SecretRow>(
      `SELECT ${COLUMNS} FROM server_secrets WHERE app_id = $1 ORDER BY position, created_at, id`,
      [appId],
    );
  }

  /** Not revoked; the caller drops those whose retirement time has passed. */
  async unrevoked(db: SqlQueryable, appId: string): Promise<SecretRow[]> {
    return db.query<SecretRow>(
      `SELECT ${COLUMNS} FROM server_secrets WHERE app_id = $1 AND revoked_at IS NULL ORDER BY position, created_at, id`,
      [appId],
    );
  }

  async get(
    db: SqlQueryable,
    appId: string,
    id: string,
    options: { forUpdate?: boolean } = {},
  ): Promise<SecretRow | undefined> {
    const rows = await db.query<SecretRow>(
      `SELECT ${COLUMNS} FROM server_secrets WHERE app_id = $1 AND id = $2${options.forUpdate ? ' FOR UPDATE' : ''}`,
      [appId, id],
    );
    return rows[0];
  }

  async nextPosition(db: SqlQueryable, appId: string): Promise<number> {
    const rows = await db.query<{ n: number | string | null }>(
      'SELECT MAX(position) AS n FROM server_secrets WHERE app_id = $1',
      [appId],
    );
    const n = rows[0]?.n;
    return n === null || n === undefined ? 0 : Number(n) + 1;
  }

  async insert(
    db: SqlQueryable,
    row: {
      id: string;
      appId: string;
      label?: string;
      scopes: SecretScope[];
      sealed: Buffer;
      hint: string;
      position: number;
      rotatedFrom?: string;
    },
  ): Promise<SecretRow> {
    const rows = await db.query<SecretRow>(
      `INSERT INTO server_secrets (id, app_id, label, scopes, sealed, hint, position, rotated_from)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
      [
        row.id,
        row.appId,
        row.label ?? null,
        row.scopes,
        row.sealed,
        row.hint,
        row.position,
        row.rotatedFrom ?? null,
      ],
    );
    return rows[0];
  }

  async setRetiresAt(db: SqlQueryable, appId: string, id: string, at: Date): Promise<SecretRow> {
    const rows = await db.query<SecretRow>(
      `UPDATE server_secrets SET retires_at = $3 WHERE app_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [appId, id, at],
    );
    return rows[0];
  }

  async revoke(db: SqlQueryable, appId: string, id: string): Promise<SecretRow | undefined> {
    const rows = await db.query<SecretRow>(
      `UPDATE server_secrets SET revoked_at = COALESCE(revoked_at, now()) WHERE app_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [appId, id],
    );
    return rows[0];
  }

  async deleteAll(db: SqlQueryable, appId: string): Promise<void> {
    await db.query('DELETE FROM server_secrets WHERE app_id = $1', [appId]);
  }

  // --- master key check ---------------------------------------------------------------------------

  async meta(db: SqlQueryable, name: string): Promise<Buffer | undefined> {
    const rows = await db.query<{ value: Uint8Array }>('SELECT value FROM control_meta WHERE name = $1', [
      name,
    ]);
    return rows[0] ? Buffer.from(rows[0].value) : undefined;
  }

  /** Writes the value unless one exists; returns the stored one. */
  async initMeta(db: SqlQueryable, name: string, value: Buffer): Promise<Buffer> {
    await db.query('INSERT INTO control_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [
      name,
      value,
    ]);
    return (await this.meta(db, name)) ?? value;
  }
}
