import { ErrorCode, HeraldError } from '@herald/protocol';
import type { DevicePlatform, DeviceRecord, DeviceStore } from '../device-store.js';
import { DevicesRepository } from './repositories/devices.repository.js';
import type { SqlClient } from './sql-client.js';

/** DeviceStore on SQL; see DeviceStore for guarantees. Registering for an unknown app is UNKNOWN_APP. */
export class SqlDeviceStore implements DeviceStore {
  private readonly devices = new DevicesRepository();

  constructor(private readonly db: SqlClient) {}

  async registerDevice(
    appId: string,
    device: { platform: DevicePlatform; token: string; userId: string },
  ): Promise<DeviceRecord> {
    const record = await this.devices.upsert(this.db, appId, device);
    if (!record) throw new HeraldError(ErrorCode.UNKNOWN_APP, `no app "${appId}"`);
    return record;
  }

  listDevices(appId: string, userId: string): Promise<DeviceRecord[]> {
    return this.devices.listByUser(this.db, appId, userId);
  }

  deleteDevice(appId: string, platform: DevicePlatform, token: string): Promise<boolean> {
    return this.devices.delete(this.db, appId, platform, token);
  }
}
