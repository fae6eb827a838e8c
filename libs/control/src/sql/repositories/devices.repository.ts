import type {
  DeviceInput,
  DevicePatch,
  DevicePlatform,
  DeviceRecord,
  NewPushDeadLetter,
  PushDeadLetter,
} from '../../device-store.js';
import type { SqlQueryable } from '../sql-client.js';

interface DeviceRow {
  app_id: string;
  platform: DevicePlatform;
  token: string;
  user_id: string;
  target: string | null;
  locale: string | null;
  topics: string[] | null;
  created_at: Date;
  updated_at: Date;
}

interface DeadLetterRow {
  id: string;
  user_id: string;
  message_id: string;
  job: unknown;
  reason: string;
  attempts: number;
  last_error: string | null;
  dead_at: Date;
}

const COLUMNS = 'app_id, platform, token, user_id, target, locale, topics, created_at, updated_at';
const DL_COLUMNS = 'id, user_id, message_id, job, reason, attempts, last_error, dead_at';

export class DevicesRepository {
  /** Serialises registrations of one (app, user) inside the caller's transaction (the limit check). */
  async lockUser(db: SqlQueryable, appId: string, userId: string): Promise<void> {
    await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      `herald.devices:${appId.length}:${appId}:${userId}`,
    ]);
  }

  async countOthers(
    db: SqlQueryable,
    appId: string,
    userId: string,
    platform: DevicePlatform,
    token: string,
  ): Promise<number> {
    const rows = await db.query<{ n: number | string }>(
      `SELECT count(*) AS n FROM devices
       WHERE app_id = $1 AND user_id = $2 AND NOT (platform = $3 AND token = $4)`,
      [appId, userId, platform, token],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async upsert(db: SqlQueryable, appId: string, d: DeviceInput): Promise<DeviceRecord | undefined> {
    // INSERT ... SELECT FROM apps: an unknown app inserts nothing (instead of a foreign-key error).
    const rows = await db.query<DeviceRow>(
      `INSERT INTO devices (app_id, platform, token, user_id, target, locale, topics)
       SELECT id, $2, $3, $4, $5, $6, $7::text[] FROM apps WHERE id = $1
       ON CONFLICT (app_id, platform, token) DO UPDATE SET user_id = EXCLUDED.user_id,
         target = EXCLUDED.target, locale = EXCLUDED.locale, topics = EXCLUDED.topics, updated_at = now()
       RETURNING ${COLUMNS}`,
      [appId, d.platform, d.token, d.userId, d.target ?? null, d.locale ?? null, d.topics ?? []],
    );
    return rows[0] ? toDevice(rows[0]) : undefined;
  }

  async update(
    db: SqlQueryable,
    appId: string,
    userId: string,
    platform: DevicePlatform,
    token: string,
    patch: DevicePatch,
  ): Promise<DeviceRecord | undefined> {
    // $n IS NULL-style "keep" flags: a field absent from the patch keeps its value, null clears it.
    const rows = await db.query<DeviceRow>(
      `UPDATE devices SET
         target = CASE WHEN $5 THEN $6 ELSE target END,
         locale = CASE WHEN $7 THEN $8 ELSE locale END,
         topics = CASE WHEN $9 THEN $10::text[] ELSE topics END,
         updated_at = now()
       WHERE app_id = $1 AND user_id = $2 AND platform = $3 AND token = $4
       RETURNING ${COLUMNS}`,
      [
        appId,
        userId,
        platform,
        token,
        patch.target !== undefined,
        patch.target ?? null,
        patch.locale !== undefined,
        patch.locale ?? null,
        patch.topics !== undefined,
        patch.topics ?? [],
      ],
    );
    return rows[0] ? toDevice(rows[0]) : undefined;
  }

  async listByUser(db: SqlQueryable, appId: string, userId: string): Promise<DeviceRecord[]> {
    return (
      await db.query<DeviceRow>(
        `SELECT ${COLUMNS} FROM devices WHERE app_id = $1 AND user_id = $2 ORDER BY platform, token`,
        [appId, userId],
      )
    ).map(toDevice);
  }

  async delete(
    db: SqlQueryable,
    appId: string,
    platform: DevicePlatform,
    token: string,
    userId?: string,
  ): Promise<boolean> {
    const rows =
      userId === undefined
        ? await db.query<{ token: string }>(
            'DELETE FROM devices WHERE app_id = $1 AND platform = $2 AND token = $3 RETURNING token',
            [appId, platform, token],
          )
        : await db.query<{ token: string }>(
            'DELETE FROM devices WHERE app_id = $1 AND platform = $2 AND token = $3 AND user_id = $4 RETURNING token',
            [appId, platform, token, userId],
          );
    return rows.length === 1;
  }

  async addDeadLetter(db: SqlQueryable, appId: string, e: NewPushDeadLetter): Promise<void> {
    await db.query(
      `INSERT INTO push_dead_letters (id, app_id, user_id, message_id, job, reason, attempts, last_error)
       SELECT $2, id, $3, $4, $5::jsonb, $6, $7, $8 FROM apps WHERE id = $1
       ON CONFLICT (id) DO NOTHING`,
      [appId, e.id, e.userId, e.messageId, JSON.stringify(e.job), e.reason, e.attempts, e.lastError ?? null],
    );
  }

  async listDeadLetters(db: SqlQueryable, appId: string, limit: number): Promise<PushDeadLetter[]> {
    return (
      await db.query<DeadLetterRow>(
        `SELECT ${DL_COLUMNS} FROM push_dead_letters WHERE app_id = $1 ORDER BY dead_at, id LIMIT $2`,
        [appId, limit],
      )
    ).map(toDeadLetter);
  }

  async takeDeadLetters(
    db: SqlQueryable,
    appId: string,
    ids: string[] | undefined,
    limit: number,
  ): Promise<PushDeadLetter[]> {
    const rows =
      ids === undefined
        ? await db.query<DeadLetterRow>(
            `DELETE FROM push_dead_letters WHERE app_id = $1 AND id IN
               (SELECT id FROM push_dead_letters WHERE app_id = $1 ORDER BY dead_at, id LIMIT $2)
             RETURNING ${DL_COLUMNS}`,
            [appId, limit],
          )
        : await db.query<DeadLetterRow>(
            `DELETE FROM push_dead_letters WHERE app_id = $1 AND id = ANY($2::text[]) RETURNING ${DL_COLUMNS}`,
            [appId, ids.slice(0, limit)],
          );
    return rows.map(toDeadLetter).sort((a, b) => a.deadAt.getTime() - b.deadAt.getTime());
  }
}

function toDevice(r: DeviceRow): DeviceRecord {
  return {
    appId: r.app_id,
    platform: r.platform,
    token: r.token,
    userId: r.user_id,
    ...(r.target !== null ? { target: r.target } : {}),
    ...(r.locale !== null ? { locale: r.locale } : {}),
    topics: r.topics ?? [],
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

function toDeadLetter(r: DeadLetterRow): PushDeadLetter {
  return {
    id: r.id,
    userId: r.user_id,
    messageId: r.message_id,
    job: typeof r.job === 'string' ? (JSON.parse(r.job) as unknown) : r.job,
    reason: r.reason,
    attempts: Number(r.attempts),
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
    deadAt: new Date(r.dead_at),
  };
}
