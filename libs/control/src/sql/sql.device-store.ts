import { ErrorCode, HeraldError } from '@herald/protocol';
import type {
  DeviceInput,
  DevicePatch,
  DevicePlatform,
  DeviceRecord,
  DeviceStore,
  NewPushDeadLetter,
  PushDeadLetter,
  PushDeadLetterStore,
} from '../device-store.js';
import { DevicesRepository } from './repositories/devices.repository.js';
import type { SqlClient } from './sql-client.js';

/**
 * DeviceStore and PushDeadLetterStore on SQL; see the ports for guarantees. Registering for an
 * unknown app is UNKNOWN_APP; the per-user limit is checked under a per-(app, user) advisory lock in
 * the registering transaction.
 */
export class SqlDeviceStore implements DeviceStore, PushDeadLetterStore {
  private readonly devices = new DevicesRepository();

  constructor(private readonly db: SqlClient) {}

  async registerDevice(
    appId: string,
    device: DeviceInput,
    options: { maxPerUser?: number } = {},
  ): Promise<DeviceRecord> {
    const record = await this.db.transaction(async (tx) => {
      const max = options.maxPerUser;
      if (max !== undefined) {
        await this.devices.lockUser(tx, appId, device.userId);
        const others = await this.devices.countOthers(
          tx,
          appId,
          device.userId,
          device.platform,
          device.token,
        );
        if (others >= max) {
          throw new HeraldError(ErrorCode.LIMIT_DEVICES, `user has ${others} devices; the limit is ${max}`, {
            limit: max,
          });
        }
      }
      return this.devices.upsert(tx, appId, device);
    });
    if (!record) throw new HeraldError(ErrorCode.UNKNOWN_APP, `no app "${appId}"`);
    return record;
  }

  listDevices(appId: string, userId: string): Promise<DeviceRecord[]> {
    return this.devices.listByUser(this.db, appId, userId);
  }

  updateDevice(
    appId: string,
    userId: string,
    platform: DevicePlatform,
    token: string,
    patch: DevicePatch,
  ): Promise<DeviceRecord | undefined> {
    return this.devices.update(this.db, appId, userId, platform, token, patch);
  }

  deleteDevice(appId: string, platform: DevicePlatform, token: string, userId?: string): Promise<boolean> {
    return this.devices.delete(this.db, appId, platform, token, userId);
  }

  addDeadLetter(appId: string, entry: NewPushDeadLetter): Promise<void> {
    return this.devices.addDeadLetter(this.db, appId, entry);
  }

  listDeadLetters(appId: string, limit: number): Promise<PushDeadLetter[]> {
    return this.devices.listDeadLetters(this.db, appId, limit);
  }

  takeDeadLetters(appId: string, ids: string[] | undefined, limit: number): Promise<PushDeadLetter[]> {
    return this.devices.takeDeadLetters(this.db, appId, ids, limit);
  }
}
