/**
 * DeviceStore: push device tokens of each app's users (registration API and push dispatch come with
 * the push issue; the table and this port exist now so a restarted node keeps devices).
 *
 * Guarantees: a device is identified by (app, platform, token); registering it again moves it to the
 * given user (a phone changes hands) and refreshes `updatedAt`. Two apps with the same token have
 * two independent devices. Lists are ordered by (platform, token).
 */
export interface DeviceStore {
  registerDevice(
    appId: string,
    device: { platform: DevicePlatform; token: string; userId: string },
  ): Promise<DeviceRecord>;
  listDevices(appId: string, userId: string): Promise<DeviceRecord[]>;
  /** Whether a device was removed. */
  deleteDevice(appId: string, platform: DevicePlatform, token: string): Promise<boolean>;
}

export const DEVICE_STORE = Symbol('DeviceStore');

export type DevicePlatform = 'apns' | 'fcm';

export interface DeviceRecord {
  appId: string;
  platform: DevicePlatform;
  token: string;
  userId: string;
  createdAt: Date;
  updatedAt: Date;
}
