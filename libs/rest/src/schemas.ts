/**
 * The zod schemas of REST API v1: request bodies and query strings are validated with them, handler
 * return types are checked against them at compile time, and the OpenAPI document (openapi.ts) is
 * generated from them with z.toJSONSchema. One source of truth: change a field here and the
 * validation, the types and /v1/openapi.json change together.
 *
 * Every object is strict (unknown fields are refused, so a typo such as `chanel` is a 400 instead of
 * a silently ignored field). Field names are snake_case, like Centrifugo's and Pusher's server APIs.
 */
import { z } from 'zod';
import { ALL_ERRORS, MAX_CHANNEL_LENGTH, MAX_USER_ID_LENGTH } from '@herald/protocol';

/** Most channels in one broadcast and most commands in one batch (LIMIT_BATCH above). */
export const MAX_BATCH_ITEMS = 100;
/** Idempotency keys are 1–255 characters (PublishService checks the same bounds). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
/** Upper bound of `limit` in a history query (a stream never keeps more than its historySize). */
export const MAX_HISTORY_LIMIT = 10000;
/** Default lifetime of a per-user revocation when `ttl_seconds` is not given. */
export const DEFAULT_USER_REVOCATION_TTL_SECONDS = 86400;
/** Longest lifetime of a per-user revocation (30 days). */
export const MAX_USER_REVOCATION_TTL_SECONDS = 30 * 86400;

/**
 * Named schemas, rendered into `components.schemas` of the OpenAPI document. Only the id lives here;
 * descriptions go through `.describe()` (zod's global registry), which z.toJSONSchema reads.
 */
export const restSchemas = z.registry<{ id: string }>();

function named<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  const described = description === undefined ? schema : schema.describe(description);
  restSchemas.add(described, { id });
  return described;
}

// --- fields ------------------------------------------------------------------------------------

export const channelField = z
  .string()
  .min(1)
  .max(MAX_CHANNEL_LENGTH)
  .describe('Channel name, e.g. `chat:lobby`, `#42` (personal), `dialog#42,43` (user-limited).');

export const userField = z
  .string()
  .min(1)
  .max(MAX_USER_ID_LENGTH)
  .describe('User id (the token `sub`): 1-128 characters of `A-Z a-z 0-9 _-=@.;!~|`.');

/** Any JSON value (object, array, string, number, boolean or null); only "absent" is refused. */
export const dataField = z
  .unknown()
  .refine((v) => v !== undefined, 'data is required (any JSON value, null included)')
  .describe('Any JSON value; delivered to subscribers as is. At most the app `maxFrameBytes` once encoded.');

export const idempotencyKeyField = z
  .string()
  .min(1)
  .max(MAX_IDEMPOTENCY_KEY_LENGTH)
  .describe(
    'Retries with the same key within the idempotency window (300 s by default) return the first ' +
      'result and deliver nothing twice. Scoped per app. Same as the `Idempotency-Key` header.',
  );

const unixSeconds = z.number().int().nonnegative();

// --- request bodies ----------------------------------------------------------------------------

export const publishBody = named(
  'PublishRequest',
  z.strictObject({ channel: channelField, data: dataField, idempotency_key: idempotencyKeyField.optional() }),
  'Publish one message into one channel.',
);

export const broadcastBody = named(
  'BroadcastRequest',
  z.strictObject({
    channels: z.array(channelField).min(1).max(MAX_BATCH_ITEMS),
    data: dataField,
    idempotency_key: idempotencyKeyField.optional(),
  }),
  'Publish one message into up to 100 channels; each channel is reported separately.',
);

// --- push (docs/push.md) ---------------------------------------------------------------------------

/** Longest `unacked` delay: a waiting job holds its partition (docs/push.md "Limits"). */
export const MAX_PUSH_DELAY_MS = 20_000;

const apnsOverride = z
  .strictObject({
    title: z.string().max(256).optional(),
    subtitle: z.string().max(256).optional(),
    body: z.string().max(2048).optional(),
    sound: z.string().min(1).max(128).optional(),
    badge: z.number().int().nonnegative().max(999_999).optional(),
    push_type: z.enum(['alert', 'background']).optional(),
    thread_id: z.string().max(64).optional(),
    category: z.string().max(64).optional(),
    mutable_content: z.boolean().optional(),
    payload: z.record(z.string().min(1).max(64), z.unknown()).optional(),
  })
  .describe('APNs-only fields; they replace the common ones for iOS devices.');

const fcmOverride = z
  .strictObject({
    title: z.string().max(256).optional(),
    body: z.string().max(2048).optional(),
    sound: z.string().min(1).max(128).optional(),
    channel_id: z.string().min(1).max(128).optional(),
    icon: z.string().min(1).max(128).optional(),
    color: z
      .string()
      .regex(/^#[0-9A-Fa-f]{6}$/, 'color is #rrggbb')
      .optional(),
    click_action: z.string().min(1).max(128).optional(),
    data: z.record(z.string().min(1).max(64), z.string()).optional(),
  })
  .describe('FCM-only fields; they replace the common ones for Android devices.');

export const pushSection = named(
  'PushSection',
  z
    .strictObject({
      title: z.string().max(256).optional(),
      body: z.string().max(2048).optional(),
      data: z
        .record(z.string().min(1).max(64), z.unknown())
        .optional()
        .describe('Custom keys: APNs payload keys next to `aps`, FCM `data` (non-strings JSON-encoded).'),
      badge: z.number().int().nonnegative().max(999_999).optional(),
      sound: z.string().min(1).max(128).optional(),
      collapse_id: z
        .string()
        .min(1)
        .max(64)
        .optional()
        .describe('A newer push with the same id replaces the older one on the phone.'),
      ttl_seconds: z
        .number()
        .int()
        .nonnegative()
        .max(28 * 86400)
        .optional()
        .describe('How long the provider keeps trying to reach the phone; 0: now or never.'),
      priority: z.enum(['high', 'normal']).optional().describe('`high` (default) wakes the phone.'),
      apns: apnsOverride.optional(),
      fcm: fcmOverride.optional(),
      policy: z
        .enum(['offline', 'always', 'unacked'])
        .default('offline')
        .describe(
          '`offline` (default): push only if the user has no live connection when the dispatcher sends; ' +
            '`always`; `unacked`: push unless a live connection acknowledged the message within `delay_ms`.',
        ),
      delay_ms: z
        .number()
        .int()
        .positive()
        .max(MAX_PUSH_DELAY_MS)
        .optional()
        .describe(
          '`unacked` only: how long to wait for the acknowledgement (default `push.unackedDelayMilliseconds`).',
        ),
    })
    .refine((p) => p.delay_ms === undefined || p.policy === 'unacked', {
      message: 'delay_ms is only valid with policy unacked',
      path: ['delay_ms'],
    }),
  'A mobile push for users without a live connection (docs/push.md). At most 4096 bytes once built for APNs, 4000 for FCM.',
);

export const userPublishBody = named(
  'UserPublishRequest',
  z.strictObject({
    data: dataField,
    push: pushSection.optional(),
    idempotency_key: idempotencyKeyField.optional(),
  }),
  "Publish into the user's personal channel `#<user>`, optionally with a mobile push.",
);

export const usersPublishBody = named(
  'UsersPublishRequest',
  z.strictObject({
    users: z.array(userField).min(1).max(MAX_BATCH_ITEMS),
    data: dataField,
    push: pushSection.optional(),
    idempotency_key: idempotencyKeyField.optional(),
  }),
  'Publish into the personal channels of up to 100 users, optionally with a mobile push for each.',
);

export const disconnectParams = named(
  'DisconnectParams',
  z.strictObject({ user: userField }),
  'Batch `disconnect` parameters.',
);

export const unsubscribeBody = named(
  'UnsubscribeRequest',
  z.strictObject({ channel: channelField }),
  'Unsubscribe every connection of the user from the channel.',
);

export const unsubscribeParams = named(
  'UnsubscribeParams',
  z.strictObject({ user: userField, channel: channelField }),
  'Batch `unsubscribe` parameters.',
);

export const batchCommand = named(
  'BatchCommand',
  z.discriminatedUnion('method', [
    z.strictObject({ method: z.literal('publish'), params: publishBody }),
    z.strictObject({ method: z.literal('broadcast'), params: broadcastBody }),
    z.strictObject({ method: z.literal('disconnect'), params: disconnectParams }),
    z.strictObject({ method: z.literal('unsubscribe'), params: unsubscribeParams }),
  ]),
  'One command of a batch.',
);
export type BatchCommand = z.output<typeof batchCommand>;

export const batchBody = named(
  'BatchRequest',
  z.strictObject({ commands: z.array(batchCommand).min(1).max(MAX_BATCH_ITEMS) }),
  'Up to 100 commands, executed in order; each is validated and answered separately.',
);

/**
 * What is checked before the commands are run: the envelope only, so that one invalid command is
 * reported in its own reply instead of failing the whole batch. Each command is then parsed with
 * `batchCommand`. (`batchBody` is what the OpenAPI document shows.)
 */
export const batchEnvelope = z.strictObject({
  commands: z.array(z.unknown()).min(1).max(MAX_BATCH_ITEMS),
});

export const emptyBody = named('EmptyRequest', z.strictObject({}), 'No fields.');

export const revokeTokenBody = named(
  'RevokeTokenRequest',
  z.strictObject({
    jti: z.string().min(1).max(255).describe('The `jti` claim of the token to revoke.'),
    expires_at: unixSeconds.describe(
      'The token `exp` (unix seconds): the revocation is kept until then, after which the token is refused anyway.',
    ),
  }),
  'Revoke one token by its id.',
);

export const revokeUserTokensBody = named(
  'RevokeUserTokensRequest',
  z.strictObject({
    issued_before: unixSeconds
      .optional()
      .describe('Tokens with `iat` before this time (unix seconds) are revoked; default: now.'),
    ttl_seconds: z
      .number()
      .int()
      .positive()
      .max(MAX_USER_REVOCATION_TTL_SECONDS)
      .optional()
      .describe(
        'How long the revocation is kept; set it to your longest token lifetime. Default 86400 (24 h).',
      ),
  }),
  "Revoke every token of a user issued before a time, and cut the user's live connections.",
);

export const ticketBody = named(
  'TicketRequest',
  z.strictObject({
    user: userField,
    info: z.unknown().optional().describe('Presence info of the connection (like the token `info` claim).'),
    channels: z
      .array(channelField)
      .max(MAX_BATCH_ITEMS)
      .optional()
      .describe('Channels the connection is subscribed to at connect (like the token `channels` claim).'),
  }),
  'Mint a single-use connection ticket for a user.',
);

// --- query strings -----------------------------------------------------------------------------

const booleanQuery = z
  .enum(['true', 'false'])
  .transform((v) => v === 'true')
  .describe('`true` or `false`.');

export const historyQueryObject = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(-1)
    .max(MAX_HISTORY_LIMIT)
    .optional()
    .describe('Most publications to return: 0 returns only the stream position; -1 or absent, all kept.'),
  since_offset: z.coerce
    .number()
    .int()
    .nonnegative()
    .optional()
    .describe('Return publications after this offset (needs `since_epoch`).'),
  since_epoch: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe('Epoch the offset belongs to (needs `since_offset`).'),
  reverse: booleanQuery.optional().describe('Newest first.'),
});

export const historyQuery = historyQueryObject.superRefine((q, ctx) => {
  if ((q.since_offset === undefined) !== (q.since_epoch === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: [q.since_offset === undefined ? 'since_offset' : 'since_epoch'],
      message: 'since_offset and since_epoch must be given together',
    });
  }
});

export const channelsQuery = z.strictObject({
  prefix: z
    .string()
    .max(MAX_CHANNEL_LENGTH)
    .optional()
    .describe('Only channels whose name starts with this prefix.'),
});

export const noQuery = z.strictObject({});

// --- responses ---------------------------------------------------------------------------------

export const publishResult = named(
  'PublishResult',
  z.strictObject({
    offset: z.number().int().optional().describe('Offset in the channel stream (channels with history).'),
    epoch: z.string().optional().describe('Epoch of the channel stream (channels with history).'),
  }),
  'Where the publication landed. Empty for channels without history (at-most-once delivery).',
);

export const userPublishResult = named(
  'UserPublishResult',
  z.strictObject({
    offset: z.number().int().optional().describe('Offset in the personal channel stream (with history).'),
    epoch: z.string().optional().describe('Epoch of the personal channel stream (with history).'),
    message_id: z
      .string()
      .optional()
      .describe(
        'With `push`: the message id, carried by the publication as `id` and acknowledged by the SDK.',
      ),
  }),
  'Where the publication landed, and with push the message id.',
);

export const itemError = named(
  'ItemError',
  z.strictObject({
    code: z.number().int(),
    name: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
  'An error of one item of a broadcast or batch (same fields as the `error` of an error response).',
);

export const broadcastResult = named(
  'BroadcastResult',
  z.strictObject({
    responses: z.array(
      z.union([
        z.strictObject({
          channel: z.string(),
          offset: z.number().int().optional(),
          epoch: z.string().optional(),
        }),
        z.strictObject({ channel: z.string(), error: itemError }),
      ]),
    ),
  }),
  'One response per channel, in request order.',
);

export const usersPublishResult = named(
  'UsersPublishResult',
  z.strictObject({
    responses: z.array(
      z.union([
        z.strictObject({
          user: z.string(),
          offset: z.number().int().optional(),
          epoch: z.string().optional(),
          message_id: z.string().optional(),
        }),
        z.strictObject({ user: z.string(), error: itemError }),
      ]),
    ),
  }),
  'One response per user, in request order.',
);

export const batchResult = named(
  'BatchResult',
  z.strictObject({
    replies: z.array(
      z.union([
        z.strictObject({ result: z.record(z.string(), z.unknown()) }),
        z.strictObject({ error: itemError }),
      ]),
    ),
  }),
  'One reply per command, in request order: `result` (as the single-command route answers) or `error`.',
);

export const clientInfo = named(
  'ClientInfo',
  z.strictObject({
    user: z.string().describe('User id; empty for anonymous connections.'),
    client: z.string().describe('Connection id, unique across the cluster.'),
    info: z.unknown().optional().describe('The connection token `info` claim.'),
  }),
);

export const presenceResult = named('PresenceResult', z.strictObject({ members: z.array(clientInfo) }));

export const presenceStatsResult = named(
  'PresenceStatsResult',
  z.strictObject({ num_clients: z.number().int(), num_users: z.number().int() }),
);

export const publication = named(
  'Publication',
  z.strictObject({
    offset: z.number().int().optional(),
    data: z.unknown(),
    info: clientInfo.optional().describe('Present when a client published it.'),
  }),
);

export const historyResult = named(
  'HistoryResult',
  z.strictObject({
    publications: z.array(publication),
    offset: z.number().int().describe('Current top offset of the stream.'),
    epoch: z.string().describe('Current epoch of the stream.'),
  }),
);

export const channelsResult = named(
  'ChannelsResult',
  z.strictObject({
    channels: z.array(z.strictObject({ channel: z.string(), subscribers: z.number().int() })),
  }),
  'Channels with at least one subscriber, sorted by name.',
);

export const emptyResult = named('EmptyResult', z.strictObject({}), 'Done.');

export const ticketResult = named(
  'TicketResult',
  z.strictObject({
    ticket: z.string().describe('Pass it as `ticket` in the connect command; valid once.'),
    expires_at: z.number().int().describe('Unix seconds.'),
  }),
);

export const infoResult = named(
  'InfoResult',
  z.strictObject({
    node: z.string().describe('Id of the node that answered.'),
    connections: z.number().int().describe('Live connections of this app on that node.'),
  }),
);

export const healthResult = named(
  'HealthResult',
  z.strictObject({ status: z.string(), failing: z.array(z.string()).optional() }),
);

export const errorBody = named(
  'Error',
  z.strictObject({
    error: z.strictObject({
      code: z.number().int().describe('Stable numeric code from the error catalogue (docs/errors.md).'),
      name: z
        .enum(ALL_ERRORS.map((e) => e.name) as [string, ...string[]])
        .describe('Stable name of the code.'),
      message: z.string().describe('Human-readable; may change between versions.'),
      details: z
        .record(z.string(), z.unknown())
        .optional()
        .describe('Structured context, e.g. `issues` for validation errors or `retryAfterMs`.'),
    }),
  }),
  'Every error answer of the REST API has this shape; the HTTP status comes from the catalogue.',
);

export type ErrorBody = z.output<typeof errorBody>;
export type ItemError = z.output<typeof itemError>;
