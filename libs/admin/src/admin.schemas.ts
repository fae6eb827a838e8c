/**
 * The zod schemas of the admin API (`/v1/admin`): validation, response types and the OpenAPI
 * components (registered in libs/rest's `restSchemas`, ids prefixed `Admin`). Field names are
 * snake_case like the rest of the API; `namespaces` and `limits` take the keys of the config file
 * (docs/configuration.md), validated by the same schemas, so an app means the same in both places.
 */
import { z } from 'zod';
import {
  allowedOriginsSchema,
  appLimitsSchema,
  namespacesSchema,
  publicKeySchema,
  SECRET_SCOPES,
} from '@herald/config';
import { MAX_ROTATION_GRACE_SECONDS } from '@herald/control';
import { restSchemas } from '@herald/rest';
import { WEBHOOK_EVENT_NAMES, isPusherEvent } from '@herald/webhooks';

function named<T extends z.ZodType>(id: string, schema: T, description: string): T {
  const described = schema.describe(description);
  restSchemas.add(described, { id: `Admin${id}` });
  return described;
}

const APP_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const time = z.string().describe('ISO 8601 time.');
const label = z.string().min(1).max(100).describe('Free text to recognise the credential by.');
export const scopeField = z
  .enum(SECRET_SCOPES)
  .describe(
    '`publish`: the REST API of the app (reads included); `token`: signs HS256 connection and subscription tokens; ' +
      '`stats`: read-only REST routes; `admin`: the admin API of this app (keys, secrets, options; not other apps).',
  );

// --- apps ----------------------------------------------------------------------------------------

const appOptionFields = {
  name: z.string().min(1).max(200).describe('Display name.'),
  allowed_origins: allowedOriginsSchema,
  namespaces: namespacesSchema,
  limits: appLimitsSchema.describe('Per-app limits (keys as in the config file).'),
  personal_channel: z.boolean().describe('Auto-subscribe connections to `#<user>`.'),
  public_keys: z.array(publicKeySchema).describe('Public keys verifying RS256/ES256 tokens.'),
};

export const createAppBody = named(
  'CreateAppRequest',
  z.strictObject({
    id: z
      .string()
      .regex(APP_ID_RE, 'app id must be 1-64 characters of A-Z a-z 0-9 _ -')
      .optional()
      .describe('App id (default: generated).'),
    name: appOptionFields.name.optional(),
    enabled: z.boolean().default(true).describe('A disabled app is refused at connect and in the REST API.'),
    allowed_origins: appOptionFields.allowed_origins,
    namespaces: appOptionFields.namespaces,
    limits: appLimitsSchema.prefault({}).describe('Per-app limits (keys as in the config file).'),
    personal_channel: z.boolean().default(true).describe('Auto-subscribe connections to `#<user>`.'),
    public_keys: z.array(publicKeySchema).default([]).describe('Public keys verifying RS256/ES256 tokens.'),
  }),
  'A new app. It gets one client key and one server secret (scopes publish, token, stats).',
);

export const updateAppBody = named(
  'UpdateAppRequest',
  z.strictObject({
    name: appOptionFields.name.optional(),
    allowed_origins: allowedOriginsSchema.optional(),
    namespaces: namespacesSchema.optional(),
    limits: appLimitsSchema
      .optional()
      .describe('Per-app limits; replaces the whole object (omitted keys take defaults).'),
    personal_channel: appOptionFields.personal_channel.optional(),
    public_keys: appOptionFields.public_keys.optional(),
  }),
  'Fields to change; each replaces the stored value as a whole.',
);

export const appResult = named(
  'App',
  z.strictObject({
    id: z.string(),
    name: z.string(),
    enabled: z.boolean(),
    managed_by: z
      .enum(['api', 'file'])
      .describe('`file`: imported from the config at start; read-only here.'),
    allowed_origins: z.array(z.string()),
    namespaces: z
      .record(z.string(), z.record(z.string(), z.unknown()))
      .describe('By name; "" is the default namespace.'),
    limits: z.record(z.string(), z.number()),
    personal_channel: z.boolean(),
    public_keys: z.array(z.strictObject({ kid: z.string().optional(), pem: z.string() })),
    created_at: time,
    updated_at: time,
  }),
  'An app, without credentials.',
);

export const appListResult = named(
  'AppList',
  z.strictObject({ apps: z.array(appResult) }),
  'Every app, by id.',
);

// --- keys and secrets ----------------------------------------------------------------------------

export const clientKeyResult = named(
  'ClientKey',
  z.strictObject({
    key: z.string().describe('Public client key (connection URLs).'),
    label: z.string().optional(),
    created_at: time,
    revoked_at: time.optional(),
  }),
  'A public client key.',
);

export const clientKeyListResult = named(
  'ClientKeyList',
  z.strictObject({ keys: z.array(clientKeyResult) }),
  'Client keys, oldest first.',
);

export const createClientKeyBody = named(
  'CreateClientKeyRequest',
  z.strictObject({ label: label.optional() }),
  'A new client key.',
);

export const secretResult = named(
  'Secret',
  z.strictObject({
    id: z.string().describe('Secret id (not the secret).'),
    label: z.string().optional(),
    scopes: z.array(scopeField),
    hint: z.string().describe('Last 4 characters of the secret.'),
    rotated_from: z.string().optional(),
    created_at: time,
    retires_at: time.optional().describe('Set while rotating: the secret stops working then.'),
    revoked_at: time.optional(),
    live: z.boolean().describe('Verifies requests and tokens now.'),
  }),
  'A server secret, without its value.',
);

export const secretListResult = named(
  'SecretList',
  z.strictObject({ secrets: z.array(secretResult) }),
  'Secrets, oldest first.',
);

export const createdSecretResult = named(
  'CreatedSecret',
  z.strictObject({
    secret: z.string().describe('The secret: shown once, store it now.'),
    record: secretResult,
  }),
  'A new secret: the value is in this answer only.',
);

export const createSecretBody = named(
  'CreateSecretRequest',
  z.strictObject({
    scopes: z.array(scopeField).min(1).default(['publish', 'token', 'stats']),
    label: label.optional(),
  }),
  'A new server secret.',
);

/** Seconds an old secret keeps working after a rotation (server and webhook signing secrets). */
const graceSeconds = z.number().int().min(0).max(MAX_ROTATION_GRACE_SECONDS).default(86400);

export const rotateSecretBody = named(
  'RotateSecretRequest',
  z.strictObject({
    grace_seconds: graceSeconds.describe(
      'How long the old secret keeps working (0: retired at once). Default one day.',
    ),
  }),
  'Rotation: a successor with the same scopes; the old secret retires after the grace period.',
);

export const createdAppResult = named(
  'CreatedApp',
  z.strictObject({ app: appResult, key: clientKeyResult, secret: createdSecretResult }),
  'The new app with its first key and secret (the secret value is shown once).',
);

// --- webhooks ------------------------------------------------------------------------------------

/** The events an endpoint may subscribe to: one list, owned by libs/webhooks. */
export const WEBHOOK_EVENTS = WEBHOOK_EVENT_NAMES;

const webhookUrl = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .describe('Endpoint receiving signed POSTs (https in production).');
const webhookEvents = z
  .array(z.enum(WEBHOOK_EVENTS))
  .min(1)
  .max(WEBHOOK_EVENTS.length)
  .describe('Events to send.');
const channelPrefixes = z
  .array(z.string().min(1).max(200))
  .max(20)
  .describe('Only events of channels starting with one of these (default: every channel).');
const webhookFormat = z
  .enum(['standard', 'pusher'])
  .describe(
    "`standard`: Standard Webhooks headers and Herald's event shape (default); `pusher`: Pusher's body and " +
      "`X-Pusher-Key`/`X-Pusher-Signature`, signed with the app's first key and server secret (Pusher events only).",
  );
const webhookEnabled = z.boolean().describe('Deliver to it (default true).');

/** Pusher has no connection or push events: a Pusher-format endpoint cannot subscribe to them. */
function pusherEventsOnly(
  v: { format?: 'standard' | 'pusher'; events?: readonly string[] },
  ctx: z.RefinementCtx,
): void {
  if (v.format !== 'pusher') return;
  const other = (v.events ?? []).filter((e) => !isPusherEvent(e));
  if (other.length > 0)
    ctx.addIssue({
      code: 'custom',
      path: ['events'],
      message: `the pusher format has no ${other.join(', ')} events`,
    });
}

export const createWebhookBody = named(
  'CreateWebhookRequest',
  z
    .strictObject({
      url: webhookUrl,
      events: webhookEvents,
      channel_prefixes: channelPrefixes.optional(),
      format: webhookFormat.optional(),
      enabled: webhookEnabled.optional(),
    })
    .superRefine(pusherEventsOnly),
  'A webhook endpoint.',
);

export const updateWebhookBody = named(
  'UpdateWebhookRequest',
  z
    .strictObject({
      url: webhookUrl.optional(),
      events: webhookEvents.optional(),
      channel_prefixes: channelPrefixes.optional(),
      format: webhookFormat.optional(),
      enabled: webhookEnabled.optional(),
    })
    .superRefine(pusherEventsOnly),
  'Changes to a webhook endpoint (omitted fields stay). `enabled: true` also re-enables an endpoint disabled by a 410.',
);

export const rotateWebhookSecretBody = named(
  'RotateWebhookSecretRequest',
  z.strictObject({
    grace_seconds: graceSeconds.describe(
      'How long the old secret keeps signing beside the new one (0: replaced at once). Default one day.',
    ),
  }),
  'Signing-secret rotation: deliveries carry both signatures during the grace period.',
);

export const webhookResult = named(
  'Webhook',
  z.strictObject({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    channel_prefixes: z.array(z.string()),
    format: z.enum(['standard', 'pusher']),
    enabled: z.boolean(),
    previous_secret_expires_at: time
      .optional()
      .describe('During a rotation: until when the previous secret still signs.'),
    created_at: time,
  }),
  'A webhook endpoint, without its signing secret.',
);

export const webhookListResult = named(
  'WebhookList',
  z.strictObject({ webhooks: z.array(webhookResult) }),
  'Webhook endpoints.',
);

export const createdWebhookResult = named(
  'CreatedWebhook',
  z.strictObject({
    webhook: webhookResult,
    signing_secret: z.string().describe('HMAC key of the signatures: shown once.'),
  }),
  'A new webhook endpoint with its signing secret.',
);

// --- push credentials ----------------------------------------------------------------------------

export const apnsBody = named(
  'ApnsCredentialRequest',
  z.strictObject({
    key_p8: z
      .string()
      .min(1)
      .max(8192)
      .describe('Contents of the AuthKey_XXXXXXXXXX.p8 file (PKCS#8 PEM, EC P-256).'),
    key_id: z
      .string()
      .regex(/^[A-Z0-9]{10}$/, 'key_id is the 10-character key id')
      .describe('Key id (10 characters).'),
    team_id: z
      .string()
      .regex(/^[A-Z0-9]{10}$/, 'team_id is the 10-character team id')
      .describe('Apple team id.'),
    bundle_id: z
      .string()
      .regex(/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/, 'bundle_id is a reverse-DNS bundle identifier')
      .max(155)
      .describe('App bundle id (the apns-topic).'),
    environment: z.enum(['sandbox', 'production']).describe('APNs environment.'),
  }),
  'APNs token-based credential (.p8 key).',
);

export const fcmBody = named(
  'FcmCredentialRequest',
  z.strictObject({
    service_account: z
      .record(z.string(), z.unknown())
      .describe('The service-account JSON key file of the Firebase project, as an object.'),
  }),
  'FCM HTTP v1 credential (service account).',
);

export const pushCredentialResult = named(
  'PushCredential',
  z.strictObject({
    provider: z.enum(['apns', 'fcm']),
    metadata: z.record(z.string(), z.string()).describe('Identifiers only; key material is never returned.'),
    updated_at: time,
  }),
  'A stored push credential.',
);

export const pushCredentialListResult = named(
  'PushCredentialList',
  z.strictObject({ credentials: z.array(pushCredentialResult) }),
  'Configured push providers.',
);

// --- usage ---------------------------------------------------------------------------------------

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

export const usageQuery = named(
  'UsageQuery',
  z.strictObject({
    from: z
      .string()
      .regex(DAY_RE, 'from is YYYY-MM-DD')
      .optional()
      .describe('First UTC day (default: 30 days ago).'),
    to: z.string().regex(DAY_RE, 'to is YYYY-MM-DD').optional().describe('Last UTC day (default: today).'),
  }),
  'Usage period.',
);

export const usageResult = named(
  'Usage',
  z.strictObject({
    days: z.array(
      z.strictObject({
        day: z.string(),
        peak_connections: z.number().int(),
        messages_published: z.number().int(),
        messages_delivered: z.number().int(),
        pushes_sent: z.number().int(),
      }),
    ),
  }),
  "Usage per UTC day (days without usage are omitted). Peak connections is the sum of each node's peak.",
);

export const MAX_DEV_TOKEN_TTL_SECONDS = 86400;

export const mintTokenBody = named(
  'MintTokenRequest',
  z.strictObject({
    user: z.string().min(1).max(128).describe('User id (`sub`).'),
    ttl_seconds: z
      .number()
      .int()
      .positive()
      .max(MAX_DEV_TOKEN_TTL_SECONDS)
      .default(3600)
      .describe('Lifetime (at most a day).'),
    channels: z
      .array(z.string().min(1))
      .max(100)
      .optional()
      .describe('Server-side subscriptions (`channels` claim).'),
  }),
  'A development connection token.',
);

export const mintTokenResult = named(
  'MintTokenResult',
  z.strictObject({ token: z.string().describe('HS256 connection token.'), expires_at: time }),
  'A connection token signed with a live `token`-scoped secret of the app (the secret itself is not returned).',
);

export const adminEmptyResult = named('Empty', z.strictObject({}), 'Done.');

export const deadLetterQuery = named(
  'DeadLetterQuery',
  z.strictObject({
    limit: z
      .string()
      .regex(/^\d{1,4}$/, 'limit is 1..1000')
      .optional()
      .describe('Most entries returned, newest first (default 100, at most 1000).'),
  }),
  'Dead-letter listing.',
);

export const deadLetterListResult = named(
  'WebhookDeadLetterList',
  z.strictObject({
    dead_letters: z.array(
      z.strictObject({
        webhook: z.string().describe('Endpoint id.'),
        event: z.record(z.string(), z.unknown()).describe('The event as it would have been delivered.'),
        reason: z
          .string()
          .describe(
            '`retention_exceeded`, `gone` (410), `overflow`, `blocked_address`, `endpoint_removed`, `endpoint_disabled`.',
          ),
        attempts: z.number().int(),
        dead_at: time,
        last_error: z.string().optional(),
      }),
    ),
  }),
  'Webhook events that could not be delivered, newest first.',
);

export const replayBody = named(
  'WebhookReplayRequest',
  z.strictObject({
    event_ids: z
      .array(z.string().max(100))
      .max(10_000)
      .optional()
      .describe('Only these events (default: all).'),
  }),
  'Which dead letters to deliver again.',
);

export const replayResult = named(
  'WebhookReplayResult',
  z.strictObject({ replayed: z.number().int().describe('Events queued again (same event ids).') }),
  'Replay queued.',
);
