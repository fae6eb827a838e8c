import type { UsageDay, UsageDelta } from '../../usage/usage.js';
import type { SqlQueryable } from '../sql-client.js';

export class UsageRepository {
  /** Adds the deltas to the node's row of the day; the peak only rises. Apps that are gone are skipped. */
  async add(db: SqlQueryable, nodeId: string, day: string, d: UsageDelta): Promise<void> {
    await db.query(
      `INSERT INTO usage_daily (app_id, day, node_id, peak_connections, messages_published, messages_delivered, pushes_sent)
       SELECT id, $2::date, $3, $4, $5, $6, $7 FROM apps WHERE id = $1
       ON CONFLICT (app_id, day, node_id) DO UPDATE SET
         peak_connections = GREATEST(usage_daily.peak_connections, EXCLUDED.peak_connections),
         messages_published = usage_daily.messages_published + EXCLUDED.messages_published,
         messages_delivered = usage_daily.messages_delivered + EXCLUDED.messages_delivered,
         pushes_sent = usage_daily.pushes_sent + EXCLUDED.pushes_sent`,
      [d.appId, day, nodeId, d.peakConnections, d.messagesPublished, d.messagesDelivered, d.pushesSent],
    );
  }

  async read(db: SqlQueryable, appId: string, from: string, to: string): Promise<UsageDay[]> {
    const rows = await db.query<{
      day: string;
      peak: string | number;
      published: string | number;
      delivered: string | number;
      pushes: string | number;
    }>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, SUM(peak_connections) AS peak, SUM(messages_published) AS published,
              SUM(messages_delivered) AS delivered, SUM(pushes_sent) AS pushes
       FROM usage_daily WHERE app_id = $1 AND day BETWEEN $2::date AND $3::date
       GROUP BY day ORDER BY day`,
      [appId, from, to],
    );
    return rows.map((r) => ({
      day: r.day,
      peakConnections: Number(r.peak),
      messagesPublished: Number(r.published),
      messagesDelivered: Number(r.delivered),
      pushesSent: Number(r.pushes),
    }));
  }
}
