import type { DevicePlatform, DeviceRecord } from '../../device-store.js';
import type { SqlQueryable } from '../sql-client.js';

interface DeviceRow {
  app_id: string;
  platform: DevicePlatform;
  token: string;
  user_id: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'app_id, platform, token, user_id, created_at, updated_at';

export class DevicesRepository {
  async upsert(
    db: SqlQueryable,
    appId: string,
    d: { platform: DevicePlatform; token: string; userId: string },
  ): Promise<DeviceRecord | undefined> {
    // INSERT ... SELECT FROM apps: an unknown app inserts nothing (instead of a foreign-key error).
    const rows = await db.query<DeviceRow>(
      `INSERT INTO devices (app_id, platform, token, user_id)
       SELECT id, $2, $3, $4 FROM apps WHERE id = $1
       ON CONFLICT (app_id, platform, token) DO UPDATE SET user_id = EXCLUDED.user_id, updated_at = now()
       RETURNING ${COLUMNS}`,
      [appId, d.platform, d.token, d.userId],
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

  async delete(db: SqlQueryable, appId: string, platform: DevicePlatform, token: string): Promise<boolean> {
    return (
      (
        await db.query<{ token: string }>(
          'DELETE FROM devices WHERE app_id = $1 AND platform = $2 AND token = $3 RETURNING token',
          [appId, platform, token],
        )
      ).length === 1
    );
  }
}

function toDevice(r: DeviceRow): DeviceRecord {
  return {
    appId: r.app_id,
    platform: r.platform,
    token: r.token,
    userId: r.user_id,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}
