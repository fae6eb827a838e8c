/**
 * Schemas of the device registration routes (docs/push.md, docs/rest-api.md), in the same registry
 * as the rest of REST API v1, so the OpenAPI document shows them with the others.
 */
import { z } from 'zod';
import { restSchemas } from '../schemas.js';

/** Most topics per device. */
export const MAX_DEVICE_TOPICS = 20;

function named<T extends z.ZodType>(id: string, schema: T, description: string): T {
  const described = schema.describe(description);
  restSchemas.add(described, { id });
  return described;
}

export const platformField = z
  .enum(['apns', 'fcm'])
  .describe('`apns` (iOS, via Apple) or `fcm` (Android, via Firebase).');

/** Checked separately (INVALID_DEVICE_TOKEN) so a malformed token gets its own code. */
export const deviceTokenField = z
  .string()
  .min(1)
  .max(4096)
  .describe('APNs: the hex device token (64+ hex digits); FCM: the registration token.');

const detailFields = {
  target: z
    .string()
    .min(1)
    .max(255)
    .nullable()
    .optional()
    .describe('APNs: the bundle id (`apns-topic`, default: the credential bundle id); FCM: the project id.'),
  locale: z
    .string()
    .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'locale is a BCP 47 tag such as en or fr-CA')
    .nullable()
    .optional()
    .describe('BCP 47 language tag of the device, e.g. `fr-CA`.'),
  topics: z
    .array(z.string().min(1).max(64))
    .max(MAX_DEVICE_TOPICS)
    .optional()
    .describe('Labels of your own (at most 20), listed back with the device.'),
};

export const registerDeviceBody = named(
  'RegisterDeviceRequest',
  z.strictObject({ platform: platformField, token: deviceTokenField, ...detailFields }),
  'Register (or re-register) a device of the user. Registering a token another user had moves it to this user.',
);

export const updateDeviceBody = named(
  'UpdateDeviceRequest',
  z.strictObject(detailFields),
  'Change the details of a device; absent fields are kept, `null` clears one.',
);

export const device = named(
  'Device',
  z.strictObject({
    platform: platformField,
    token: z.string(),
    user: z.string(),
    target: z.string().optional(),
    locale: z.string().optional(),
    topics: z.array(z.string()),
    created_at: z.string().describe('ISO 8601.'),
    updated_at: z.string().describe('ISO 8601.'),
  }),
  'A registered push device.',
);

export const deviceResult = named('DeviceResult', z.strictObject({ device }), 'The device.');
export const deviceListResult = named(
  'DeviceListResult',
  z.strictObject({ devices: z.array(device) }),
  'The devices of the user, ordered by platform and token.',
);

const APNS_TOKEN = /^[0-9A-Fa-f]{64,200}$/;
const FCM_TOKEN = /^[A-Za-z0-9_:-]{1,4096}$/;

/** Whether a token has the shape its platform issues (refused with INVALID_DEVICE_TOKEN otherwise). */
export function isValidDeviceToken(platform: 'apns' | 'fcm', token: string): boolean {
  return (platform === 'apns' ? APNS_TOKEN : FCM_TOKEN).test(token);
}
