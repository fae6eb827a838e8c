/**
 * DeviceStore: push device tokens of each app's users (registration REST API in libs/rest/src/push, read by
 * the push dispatcher, which also deletes the tokens a provider reports unregistered).
 *
 * Guarantees: a device is identified by (app, platform, token); registering it again moves it to the
 * given user (a phone changes hands), replaces its details and refreshes `updatedAt`. Two apps with
 * the same token have two independent devices. Lists are ordered by (platform, token).
 * `maxPerUser` is checked atomically with the insert (per app and user): with limit n, n concurrent
 * registrations of new tokens for one user leave at most n devices, and the others fail with
 * LIMIT_DEVICES. Re-registering a device the user already has never counts against the limit.
 */
export interface DeviceStore {
  registerDevice(
    appId: string,
    device: DeviceInput,
    options?: { maxPerUser?: number },
  ): Promise<DeviceRecord>;
  listDevices(appId: string, userId: string): Promise<DeviceRecord[]>;
  /**
   * Changes the details of a device of `userId`; undefined when the user has no such device (a
   * device of another user is reported the same way: nothing about it is revealed).
   */
  updateDevice(
    appId: string,
    userId: string,
    platform: DevicePlatform,
    token: string,
    patch: DevicePatch,
  ): Promise<DeviceRecord | undefined>;
  /** Whether a device was removed; with `userId`, only a device of that user is. */
  deleteDevice(appId: string, platform: DevicePlatform, token: string, userId?: string): Promise<boolean>;
}

export const DEVICE_STORE = Symbol('DeviceStore');

export type DevicePlatform = 'apns' | 'fcm';

export interface DevicePatch {
  /** APNs: the app bundle id (the `apns-topic`); FCM: the Firebase project id. Null clears it. */
  target?: string | null;
  /** BCP 47 tag, e.g. `fr-CA`. Null clears it. */
  locale?: string | null;
  /** Free labels of the tenant (at most 20). */
  topics?: string[];
}

export interface DeviceInput extends DevicePatch {
  platform: DevicePlatform;
  token: string;
  userId: string;
}

export interface DeviceRecord {
  appId: string;
  platform: DevicePlatform;
  token: string;
  userId: string;
  target?: string;
  locale?: string;
  topics: string[];
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Push jobs whose attempts are exhausted (or that can never succeed), kept for operators: listed and
 * replayed through the admin API. Every call is scoped to one app; a replay takes (deletes) the
 * entries it returns, so two concurrent replays never re-enqueue one entry twice.
 */
export interface PushDeadLetterStore {
  addDeadLetter(appId: string, entry: NewPushDeadLetter): Promise<void>;
  /** Oldest first. */
  listDeadLetters(appId: string, limit: number): Promise<PushDeadLetter[]>;
  /** Removes and returns the given entries (all of the app's when `ids` is omitted, at most `limit`). */
  takeDeadLetters(appId: string, ids: string[] | undefined, limit: number): Promise<PushDeadLetter[]>;
}

export const PUSH_DEAD_LETTER_STORE = Symbol('PushDeadLetterStore');

export interface NewPushDeadLetter {
  id: string;
  userId: string;
  messageId: string;
  /** The push job as the dispatcher consumed it (replayed as is). */
  job: unknown;
  reason: string;
  attempts: number;
  lastError?: string;
}

export interface PushDeadLetter extends NewPushDeadLetter {
  deadAt: Date;
}
