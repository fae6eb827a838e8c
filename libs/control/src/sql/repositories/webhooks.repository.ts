import type { WebhookRecord } from '../../control-admin.js';
import type { SqlQueryable } from '../sql-client.js';

interface WebhookRow {
  id: string;
  app_id: string;
  url: string;
  events: string[];
  sealed_secret: Uint8Array;
  enabled: boolean;
  created_at: Date;
}

export class WebhooksRepository {
  async list(db: SqlQueryable, appId: string): Promise<(WebhookRecord & { sealedSecret: Buffer })[]> {
    const rows = await db.query<WebhookRow>(
      'SELECT id, app_id, url, events, sealed_secret, enabled, created_at FROM webhook_endpoints WHERE app_id = $1 ORDER BY created_at, id',
      [appId],
    );
    return rows.map((r) => ({
      id: r.id,
      appId: r.app_id,
      url: r.url,
      events: r.events,
      enabled: r.enabled,
      createdAt: new Date(r.created_at),
      sealedSecret: Buffer.from(r.sealed_secret),
    }));
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
    row: { id: string; appId: string; url: string; events: string[]; sealedSecret: Buffer },
  ): Promise<WebhookRecord> {
    const rows = await db.query<WebhookRow>(
      `INSERT INTO webhook_endpoints (id, app_id, url, events, sealed_secret) VALUES ($1, $2, $3, $4, $5)
       RETURNING id, app_id, url, events, sealed_secret, enabled, created_at`,
      [row.id, row.appId, row.url, row.events, row.sealedSecret],
    );
    const r = rows[0];
    return {
      id: r.id,
      appId: r.app_id,
      url: r.url,
      events: r.events,
      enabled: r.enabled,
      createdAt: new Date(r.created_at),
    };
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
