import type { WebhookFormat, WebhookPatch, WebhookRecord } from '../../control-admin.js';
import type { SqlQueryable, SqlValue } from '../sql-client.js';

interface WebhookRow {
  id: string;
  app_id: string;
  url: string;
  events: string[];
  sealed_secret: Uint8Array;
  enabled: boolean;
  created_at: Date;
  channel_prefixes: string[];
  format: WebhookFormat;
  sealed_previous_secret: Uint8Array | null;
  previous_secret_expires_at: Date | null;
}

const COLUMNS =
  'id, app_id, url, events, sealed_secret, enabled, created_at, channel_prefixes, format, sealed_previous_secret, previous_secret_expires_at';

export type SealedWebhook = WebhookRecord & { sealedSecret: Buffer; sealedPreviousSecret?: Buffer };

function toRecord(r: WebhookRow): SealedWebhook {
  return {
    id: r.id,
    appId: r.app_id,
    url: r.url,
    events: r.events,
    enabled: r.enabled,
    createdAt: new Date(r.created_at),
    channelPrefixes: r.channel_prefixes,
    format: r.format,
    ...(r.previous_secret_expires_at
      ? { previousSecretExpiresAt: new Date(r.previous_secret_expires_at) }
      : {}),
    sealedSecret: Buffer.from(r.sealed_secret),
    ...(r.sealed_previous_secret ? { sealedPreviousSecret: Buffer.from(r.sealed_previous_secret) } : {}),
  };
}

function withoutSecrets({
  sealedSecret: _s,
  sealedPreviousSecret: _p,
  ...record
}: SealedWebhook): WebhookRecord {
  return record;
}

export class WebhooksRepository {
  async list(db: SqlQueryable, appId: string): Promise<SealedWebhook[]> {
    const rows = await db.query<WebhookRow>(
      `SELECT ${COLUMNS} FROM webhook_endpoints WHERE app_id = $1 ORDER BY created_at, id`,
      [appId],
    );
    return rows.map(toRecord);
  }

  async get(
    db: SqlQueryable,
    appId: string,
    id: string,
    forUpdate = false,
  ): Promise<SealedWebhook | undefined> {
    const rows = await db.query<WebhookRow>(
      `SELECT ${COLUMNS} FROM webhook_endpoints WHERE app_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`,
      [appId, id],
    );
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async count(db: SqlQueryable, appId: string): Promise<number> {
    const rows = await db.query<{ n: number | string }>(
      'SELECT COUNT(*) AS n FROM webhook_endpoints WHERE app_id = $1',
      [appId],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async insert(
    db: SqlQueryable,
    row: {
      id: string;
      appId: string;
      url: string;
      events: string[];
      sealedSecret: Buffer;
      channelPrefixes?: string[];
      format?: WebhookFormat;
      enabled?: boolean;
    },
  ): Promise<WebhookRecord> {
    const rows = await db.query<WebhookRow>(
      `INSERT INTO webhook_endpoints (id, app_id, url, events, sealed_secret, channel_prefixes, format, enabled)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       RETURNING ${COLUMNS}`,
      [
        row.id,
        row.appId,
        row.url,
        row.events,
        row.sealedSecret,
        row.channelPrefixes ?? [],
        row.format ?? 'standard',
        row.enabled ?? true,
      ],
    );
    return withoutSecrets(toRecord(rows[0]));
  }

  async update(
    db: SqlQueryable,
    appId: string,
    id: string,
    patch: WebhookPatch,
  ): Promise<WebhookRecord | undefined> {
    const sets: string[] = [];
    const params: SqlValue[] = [appId, id];
    const set = (column: string, value: SqlValue) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (patch.url !== undefined) set('url', patch.url);
    if (patch.events !== undefined) set('events', patch.events);
    if (patch.channelPrefixes !== undefined) set('channel_prefixes', patch.channelPrefixes);
    if (patch.format !== undefined) set('format', patch.format);
    if (patch.enabled !== undefined) set('enabled', patch.enabled);
    if (sets.length === 0) {
      const current = await this.get(db, appId, id);
      return current && withoutSecrets(current);
    }
    const rows = await db.query<WebhookRow>(
      `UPDATE webhook_endpoints SET ${sets.join(', ')} WHERE app_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      params,
    );
    return rows[0] ? withoutSecrets(toRecord(rows[0])) : undefined;
  }

  /** The new secret becomes current; the current one signs beside it until `previousExpiresAt`. */
  async rotate(
    db: SqlQueryable,
    appId: string,
    id: string,
    sealed: { secret: Buffer; previous: Buffer | null; previousExpiresAt: Date | null },
  ): Promise<WebhookRecord | undefined> {
    const rows = await db.query<WebhookRow>(
      `UPDATE webhook_endpoints SET sealed_secret = $3, sealed_previous_secret = $4, previous_secret_expires_at = $5
        WHERE app_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [appId, id, sealed.secret, sealed.previous, sealed.previousExpiresAt],
    );
    return rows[0] ? withoutSecrets(toRecord(rows[0])) : undefined;
  }

  async delete(db: SqlQueryable, appId: string, id: string): Promise<boolean> {
    return (
      (
        await db.query<{ id: string }>(
          'DELETE FROM webhook_endpoints WHERE app_id = $1 AND id = $2 RETURNING id',
          [appId, id],
        )
      ).length === 1
    );
  }
}
