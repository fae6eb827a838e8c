/**
 * The one validated configuration schema of a Herald node. Every default lives here, every key has
 * a description (docs/configuration.md is rendered from this file, see config-doc.ts), and the
 * output is checked against the interfaces in types.ts at compile time so the two cannot drift.
 */
import { createPublicKey, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import type {
  AppConfig,
  AppLimits,
  NamespaceOptions,
  NodeConfig,
  PublicKeyConfig,
  SecretScope,
} from './types.js';

/** Name of the default namespace in config files; normalised to "" (see AppConfig.namespaces). */
export const DEFAULT_NAMESPACE_ALIAS = 'default';
export const MIN_SECRET_LENGTH = 32;
export const MAX_LIVE_SECRETS = 2;
/** Every scope a server secret can have (see SecretScope). */
export const SECRET_SCOPES = ['publish', 'token', 'stats', 'admin'] as const satisfies readonly SecretScope[];

const APP_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const CLIENT_KEY_RE = /^[A-Za-z0-9_-]{8,128}$/;
/** Namespace names appear before ":" in channel names, so they use a strict subset of the grammar. */
const NAMESPACE_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** scheme://host[:port] where host may start with "*." (any subdomain). */
const ORIGIN_PATTERN_RE = /^[a-z][a-z0-9+.-]*:\/\/(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?$/i;

const int = () => z.number().int();

const namespaceOptionsObject = z.strictObject({
  historySize: int()
    .nonnegative()
    .default(0)
    .describe('Publications kept per channel; 0 disables history (the channel is then at-most-once).'),
  historyTtlSeconds: int().positive().default(300).describe('How long a publication stays in history.'),
  presence: z.boolean().default(false).describe('Track presence members in the channel.'),
  joinLeave: z
    .boolean()
    .default(false)
    .describe('Send join/leave pushes to subscribers; requires `presence`.'),
  allowPublish: z
    .boolean()
    .default(false)
    .describe('Clients may publish into the channel over their connection.'),
  allowPresence: z.boolean().default(true).describe('Subscribers may query presence.'),
  allowHistory: z.boolean().default(true).describe('Subscribers may query history.'),
  private: z
    .boolean()
    .default(false)
    .describe('Subscribing requires a subscription token signed by the app.'),
  recover: z
    .boolean()
    .default(true)
    .describe(
      'Subscribers may recover missed publications on resubscribe. Only effective with history: ' +
        'it is normalised to false when `historySize` is 0.',
    ),
});

export const namespaceOptionsSchema = namespaceOptionsObject
  .superRefine((ns, ctx) => {
    if (ns.joinLeave && !ns.presence) {
      ctx.addIssue({ code: 'custom', path: ['joinLeave'], message: 'joinLeave requires presence: true' });
    }
  })
  .transform((ns): NamespaceOptions => ({ ...ns, recover: ns.recover && ns.historySize > 0 }));

export const appLimitsSchema = z.strictObject({
  maxFrameBytes: int()
    .positive()
    .default(65536)
    .describe('Max bytes of one client frame (WebSocket message) and of one REST publish `data`.'),
  maxBodyBytes: int().positive().default(65536).describe('Max bytes of one REST request body.'),
  maxChannelsPerConnection: int()
    .positive()
    .default(128)
    .describe('Max channels one connection may subscribe to.'),
  maxConnections: int()
    .nonnegative()
    .default(10000)
    .describe('Live connections of the app across the cluster (0 = unlimited).'),
  maxConnectionsPerUser: int()
    .nonnegative()
    .default(100)
    .describe('Live connections of one user (0 = unlimited).'),
  publishesPerSecond: int()
    .positive()
    .default(1000)
    .describe('REST publishes per second for the whole app (sustained rate; burst 2x).'),
  clientPublishesPerSecond: int()
    .positive()
    .default(20)
    .describe('Client publishes per second per connection (burst 2x).'),
  maxPresenceMembers: int()
    .nonnegative()
    .default(1000)
    .describe('Presence members per channel (0 = unlimited).'),
  outboundQueueBytes: int()
    .positive()
    .default(1048576)
    .describe('Bytes queued for one connection before it is disconnected as slow.'),
});

export const publicKeySchema = z
  .strictObject({
    kid: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .describe('Key id, matched against the JWT `kid` header when the token has one.'),
    pem: z.string().min(1).describe('PEM-encoded RSA public key (RS256) or EC P-256 public key (ES256).'),
  })
  .superRefine((key, ctx) => {
    const problem = publicKeyProblem(key.pem);
    if (problem) ctx.addIssue({ code: 'custom', path: ['pem'], message: problem });
  });

function publicKeyProblem(pem: string): string | undefined {
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType === 'rsa') {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      return bits >= 2048 ? undefined : `RSA public key must have at least 2048 bits (has ${bits})`;
    }
    if (key.asymmetricKeyType === 'ec') {
      return key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
        ? undefined
        : 'EC public key must be on curve P-256 (ES256)';
    }
    return `unsupported public key type "${key.asymmetricKeyType}" (use RSA or EC P-256)`;
  } catch {
    return 'not a valid PEM public key';
  }
}

export const namespacesSchema = z
  .record(z.string(), namespaceOptionsSchema)
  .superRefine((namespaces, ctx) => {
    if ('' in namespaces && DEFAULT_NAMESPACE_ALIAS in namespaces) {
      ctx.addIssue({
        code: 'custom',
        message: `both "" and "${DEFAULT_NAMESPACE_ALIAS}" configure the default namespace; keep one`,
      });
    }
    for (const name of Object.keys(namespaces)) {
      if (name !== '' && !NAMESPACE_RE.test(name)) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: 'namespace names are 1-64 characters of A-Z a-z 0-9 _ -',
        });
      }
    }
  })
  .transform((namespaces): Record<string, NamespaceOptions> => {
    const out: Record<string, NamespaceOptions> = {};
    for (const [name, options] of Object.entries(namespaces)) {
      out[name === DEFAULT_NAMESPACE_ALIAS ? '' : name] = options;
    }
    out[''] ??= namespaceOptionsSchema.parse({});
    return out;
  })
  .prefault({})
  .describe(
    'Channel namespaces by name (the part of a channel before ":"). `default` (or "") configures ' +
      'channels without a namespace; it always exists and takes the defaults below when not listed. ' +
      'A channel in a namespace that is not listed is refused with `unknown_channel`.',
  );

/** Allowed browser origins of an app (also validated by the admin API). */
export const allowedOriginsSchema = z
  .array(
    z
      .string()
      .refine(
        (o) => o === '*' || ORIGIN_PATTERN_RE.test(o),
        'origins are "*" or scheme://host[:port], where host may start with "*."',
      ),
  )
  .default([])
  .describe(
    'Browser origins allowed to connect: `*`, `https://app.example.com`, or `https://*.example.com` ' +
      '(subdomains only). Requests without an Origin header (non-browser clients) are always allowed.',
  );

const appConfigObject = z.strictObject({
  id: z
    .string()
    .regex(APP_ID_RE, 'app id must be 1-64 characters of A-Z a-z 0-9 _ -')
    .describe('Unique app (tenant) id: 1-64 characters of `A-Z a-z 0-9 _ -`.'),
  name: z.string().max(200).optional().describe('Display name (defaults to the id).'),
  enabled: z.boolean().default(true).describe('A disabled app is refused at connect and in the REST API.'),
  keys: z
    .array(z.string().regex(CLIENT_KEY_RE, 'client keys are 8-128 characters of A-Z a-z 0-9 _ -'))
    .min(1, 'an app needs at least one client key')
    .describe('Public client keys used in connection URLs; unique across apps.'),
  secrets: z
    .array(z.string().min(MIN_SECRET_LENGTH, `secrets must be at least ${MIN_SECRET_LENGTH} characters`))
    .min(1, 'an app needs at least one secret')
    .max(MAX_LIVE_SECRETS, `at most ${MAX_LIVE_SECRETS} secrets may be live (rotation)`)
    .describe(
      `Server secrets (>= ${MIN_SECRET_LENGTH} characters): REST Bearer auth and HS256 token signing. ` +
        'Two may be live while rotating: add the new one, move signers over, remove the old one.',
    ),
  publicKeys: z
    .array(publicKeySchema)
    .default([])
    .describe('Public keys verifying RS256/ES256 connection and subscription tokens.'),
  allowedOrigins: allowedOriginsSchema,
  namespaces: namespacesSchema,
  personalChannel: z
    .boolean()
    .default(true)
    .describe(
      'Subscribe every authenticated connection to its personal channel `#<user>` (user-addressed publishes).',
    ),
  limits: appLimitsSchema.prefault({}).describe('Per-app limits.'),
});

export const appConfigSchema = appConfigObject
  .superRefine((app, ctx) => {
    if (new Set(app.keys).size !== app.keys.length) {
      ctx.addIssue({ code: 'custom', path: ['keys'], message: 'client keys must be unique' });
    }
    if (new Set(app.secrets).size !== app.secrets.length) {
      ctx.addIssue({ code: 'custom', path: ['secrets'], message: 'secrets must be different' });
    }
    const kids = app.publicKeys.map((k) => k.kid).filter((k) => k !== undefined);
    if (new Set(kids).size !== kids.length) {
      ctx.addIssue({ code: 'custom', path: ['publicKeys'], message: 'public key ids (kid) must be unique' });
    }
  })
  .transform((app): AppConfig => ({ ...app, name: app.name ?? app.id }));

function defaultNodeId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

const seconds = (def: number, what: string) => int().positive().default(def).describe(what);

const nodeConfigObject = z.strictObject({
  env: z
    .enum(['development', 'production'])
    .default('development')
    .describe(
      'In production the node refuses to start without configured apps or with example secrets; ' +
        'in development it generates a `dev` app when none is configured.',
    ),
  nodeId: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .describe('Unique id of this node in the cluster (default: `<hostname>-<pid>-<random>`).'),
  http: z
    .strictObject({
      host: z.string().min(1).default('0.0.0.0').describe('Interface to listen on.'),
      port: int().min(0).max(65535).default(8080).describe('Port to listen on (0 = any free port).'),
      tls: z
        .strictObject({
          certFile: z
            .string()
            .min(1)
            .optional()
            .describe('PEM certificate chain file. Set together with `keyFile`.'),
          keyFile: z
            .string()
            .min(1)
            .optional()
            .describe('PEM private key file. Set together with `certFile`.'),
        })
        .prefault({})
        .superRefine((tls, ctx) => {
          if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
            ctx.addIssue({ code: 'custom', message: 'set both certFile and keyFile, or neither' });
          }
        })
        .describe(
          'TLS. With both files the node serves HTTPS with HTTP/2 and HTTP/1.1 fallback on the same port ' +
            '(many SSE streams share one connection; WebSocket stays on HTTP/1.1). Without them, plain HTTP/1.1.',
        ),
    })
    .prefault({})
    .describe('HTTP listener (REST API and every client transport).'),
  appsSource: z
    .enum(['file', 'env', 'dev'])
    .default('file')
    .describe('Set by the loader (where apps came from); not meant to be written in files.'),
  apps: z
    .array(appConfigSchema)
    .default([])
    .describe('Apps (tenants) served by this node. See also the HERALD_APP_* variables.'),
  ws: z
    .strictObject({
      pingIntervalSeconds: seconds(25, 'Server ping interval.'),
      pongTimeoutSeconds: seconds(10, 'A connection without pong this long after a ping is closed.'),
      connectTimeoutSeconds: seconds(10, 'A connection must send `connect` within this time.'),
      maxPayloadBytes: int()
        .positive()
        .default(1048576)
        .describe('Hard cap on any frame, whatever an app allows (bytes).'),
    })
    .prefault({})
    .describe('Client connection settings.'),
  sse: z
    .strictObject({
      heartbeatSeconds: int()
        .positive()
        .max(15)
        .default(15)
        .describe('An idle stream gets a comment line at least this often, so proxies keep it open.'),
      retryMilliseconds: int()
        .positive()
        .default(3000)
        .describe('The `retry:` sent to EventSource clients: how long they wait before reconnecting.'),
    })
    .prefault({})
    .describe('Server-Sent Events transport (`/connection/sse`).'),
  poll: z
    .strictObject({
      holdSeconds: seconds(
        25,
        'A long poll with nothing to return is held this long, then answered empty (keep it below proxy timeouts).',
      ),
      sessionIdleSeconds: seconds(
        30,
        'A poll session with no poll in flight for this long is closed and leaves presence.',
      ),
    })
    .prefault({})
    .describe('Long-poll and short-poll transport (`/connection/poll`).'),
  newConnectionsPerSecond: int()
    .positive()
    .default(1000)
    .describe('New connections accepted per second by this node (burst 2x); the rest are shed.'),
  presence: z
    .strictObject({
      ttlSeconds: seconds(60, 'A presence entry not refreshed for this long expires.'),
      occupancyLeaseMilliseconds: int()
        .min(300)
        .max(600_000)
        .default(15_000)
        .describe(
          "Lease of a gateway's channel subscription counts (webhook occupancy, cluster-wide channel " +
            'listing), refreshed every third of it. The counts of a gateway that died without closing ' +
            'its connections (kill -9) are removed once this lease has expired, and its channels are ' +
            'reported vacated (docs/webhooks.md).',
        ),
    })
    .prefault({})
    .describe('Presence registry and channel occupancy counts.'),
  idempotency: z
    .strictObject({
      windowSeconds: seconds(
        300,
        'A retried publish with the same idempotency key within this window is deduplicated.',
      ),
    })
    .prefault({})
    .describe('Publish idempotency.'),
  tickets: z
    .strictObject({
      // Same bound as MAX_TICKET_TTL_SECONDS in libs/auth: a ticket stands in for a token at connect.
      ttlSeconds: int().positive().max(3600).default(60).describe('Default lifetime of a connection ticket.'),
    })
    .prefault({})
    .describe('Single-use connection tickets.'),
  shutdown: z
    .strictObject({
      drainSeconds: seconds(
        10,
        'On shutdown, connections are closed spread over this time to avoid a synchronized reconnect storm.',
      ),
    })
    .prefault({})
    .describe('Graceful shutdown.'),
  log: z
    .strictObject({
      level: z
        .enum(['debug', 'info', 'warn', 'error', 'silent'])
        .default('info')
        .describe('Minimum level of JSON log lines written to stdout.'),
    })
    .prefault({})
    .describe('Logging.'),
  redis: z
    .strictObject({
      url: z
        .string()
        .regex(/^rediss?:\/\//, 'redis.url must start with redis:// or rediss://')
        .default('redis://127.0.0.1:6379')
        .describe(
          'Redis used by the `redis` drivers (presence, history, rate limits, tickets, revocations, ' +
            'idempotency keys): `redis://[user:password@]host:port[/db]`, `rediss://` for TLS. Never logged.',
        ),
      keyPrefix: z
        .string()
        .regex(/^[^{}]*$/, 'redis.keyPrefix must not contain { or } (the app id is the hash tag)')
        .max(64)
        .default('herald:')
        .describe(
          'Prepended to every key, so deployments can share one Redis; the app id follows as a hash ' +
            'tag (`herald:{app}:...`), so no two apps ever share a key.',
        ),
      connectTimeoutMilliseconds: int()
        .positive()
        .default(5000)
        .describe('A connection attempt gives up after this long; reconnects continue with backoff.'),
      commandTimeoutMilliseconds: int()
        .positive()
        .default(2000)
        .describe(
          'A Redis call fails after this long (the API answers 503 with Retry-After). Nothing is queued ' +
            'while Redis is unreachable, so memory stays bounded during an outage.',
        ),
    })
    .prefault({})
    .describe('Redis connection of the `redis` drivers (one connection per process).'),
  drivers: z
    .strictObject({
      bus: z
        .enum(['memory', 'kafka'])
        .default('memory')
        .describe(
          'The Bus. `memory`: an in-process log (one node only); `kafka`: Kafka topics shared by the ' +
            'cluster (set `kafka.brokers`).',
        ),
      presence: z
        .enum(['memory', 'redis'])
        .default('memory')
        .describe('The presence registry. `memory` (one node only) or `redis` (shared, see `redis`).'),
      history: z
        .enum(['memory', 'redis'])
        .default('memory')
        .describe('Channel history and recovery streams. `memory` (one node only) or `redis`.'),
      state: z
        .enum(['memory', 'redis'])
        .default('memory')
        .describe(
          'Rate limits, connection tickets, revoked tokens and idempotency keys. `memory` (one node only) ' +
            'or `redis`.',
        ),
    })
    .prefault({})
    .describe(
      'Driver of each port. The memory drivers need nothing and serve one node; a cluster uses ' +
        '`kafka` for the bus and `redis` for the rest.',
    ),
  kafka: z
    .strictObject({
      brokers: z
        .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'brokers are host:port'))
        .default([])
        .describe('Bootstrap brokers (`host:port`) of the `kafka` bus driver; required with it.'),
      clientId: z
        .string()
        .min(1)
        .max(255)
        .default('herald')
        .describe('Client id sent to Kafka (broker logs, quotas).'),
      partitions: int()
        .positive()
        .max(10000)
        .default(16)
        .describe(
          'Partitions of the topics Herald creates when they are missing. Keys (user or channel) are ' +
            'hashed over them; topics that exist keep their own count. Changing it for an existing ' +
            'topic moves keys between partitions: create new topics instead.',
        ),
      replicationFactor: int()
        .positive()
        .max(32)
        .default(1)
        .describe('Replicas of the topics Herald creates (3 in production clusters).'),
      topicPrefix: z
        .string()
        .regex(/^[A-Za-z0-9._-]*$/, 'topicPrefix may contain A-Z a-z 0-9 . _ -')
        .max(100)
        .default('')
        .describe(
          'Prepended to every topic and consumer-group name, so deployments can share one Kafka ' +
            '(e.g. `staging.` gives `staging.herald.publications`).',
        ),
    })
    .prefault({})
    .describe('Kafka connection of the `kafka` bus driver.'),
  control: z
    .strictObject({
      driver: z
        .enum(['config', 'pglite', 'postgres'])
        .default('pglite')
        .describe(
          'Where apps, keys and credentials live. `pglite`: embedded PostgreSQL (WASM) under `dataDir`, ' +
            'durable with no server; `postgres`: a PostgreSQL server shared by the cluster (`postgresUrl`); ' +
            '`config`: only the apps of this config, read-only (no admin API writes). Config apps are ' +
            'imported into the SQL store at start and managed by the file.',
        ),
      dataDir: z
        .string()
        .min(1)
        .default('data')
        .describe(
          'Directory of the embedded database (relative to the working directory), and of the ' +
            'development master key and admin token when they are generated.',
        ),
      postgresUrl: z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'postgresUrl must start with postgres:// or postgresql://')
        .optional()
        .describe(
          'Connection URL for driver `postgres` (`postgres://user:password@host:5432/db`). Never logged.',
        ),
      cacheTtlSeconds: seconds(
        10,
        'A node serves a cached app for at most this long; admin changes invalidate caches on every node at once through the bus.',
      ),
      usageFlushSeconds: seconds(10, 'How often this node writes its usage counters to the store.'),
    })
    .prefault({})
    .describe('Control plane storage (ControlStore driver).'),
  admin: z
    .strictObject({
      token: z
        .string()
        .min(MIN_SECRET_LENGTH, `the admin token must be at least ${MIN_SECRET_LENGTH} characters`)
        .optional()
        .describe(
          'Bearer token of the admin API (`/v1/admin`); prefer HERALD_ADMIN_TOKEN. Unset: generated ' +
            'under `control.dataDir` in development, admin API disabled in production.',
        ),
    })
    .prefault({})
    .describe('Admin API (apps, keys, credentials); separate from app secrets.'),
  cluster: z
    .strictObject({
      advertiseUrl: z
        .string()
        .regex(/^https?:\/\/[^/\s]+$/, 'advertiseUrl must be http(s)://host:port, without a path')
        .optional()
        .describe(
          'Base URL at which the other nodes reach this one (`http://10.0.3.7:8080`): a node that ' +
            'receives an SSE or long-poll session command for a session it does not hold forwards it ' +
            'there. Unset: `http://<http.host>:<port>`, with the hostname when listening on all interfaces.',
        ),
    })
    .prefault({})
    .describe('How the nodes of a cluster reach each other (docs/scaling.md).'),
  webhooks: z
    .strictObject({
      retentionHours: int()
        .positive()
        .max(24 * 30)
        .default(72)
        .describe(
          'An undelivered batch is retried for this long after its first event was queued, then moved to the ' +
            'dead-letter store (at most 10 000 events per app, oldest dropped first; listed and replayable ' +
            'through the admin API).',
        ),
      requestTimeoutMilliseconds: int()
        .positive()
        .max(60_000)
        .default(5000)
        .describe('A delivery without a complete response within this time counts as failed and is retried.'),
      batchSize: int()
        .positive()
        .max(1000)
        .default(50)
        .describe('Most events in one POST (`{time_ms, events}`).'),
      batchMaxBytes: int()
        .positive()
        .default(64 * 1024)
        .describe('Most body bytes in one POST; a single larger event is sent alone.'),
      backoffInitialMilliseconds: int()
        .positive()
        .default(1000)
        .describe(
          'Ceiling of the first retry delay; it doubles per attempt, and the delay is drawn uniformly below it (full jitter).',
        ),
      backoffMaxMilliseconds: int()
        .positive()
        .default(3_600_000)
        .describe('Largest retry delay (also caps a Retry-After the endpoint asks for).'),
      maxConcurrentDeliveries: int()
        .positive()
        .max(10_000)
        .default(64)
        .describe(
          'Deliveries in flight at once on this node over all endpoints; each endpoint has at most one, ' +
            'so a slow endpoint holds one slot and never delays another.',
        ),
      maxConcurrentDeliveriesPerApp: int()
        .positive()
        .max(10_000)
        .default(8)
        .describe(
          'Of `maxConcurrentDeliveries`, at most this many for the endpoints of one app on this node, ' +
            'so slow endpoints of one app never take every slot; when slots are scarce, due endpoints ' +
            'are taken round-robin across apps.',
        ),
      maxQueuedPerEndpoint: int()
        .positive()
        .default(10_000)
        .describe(
          'Events queued per endpoint (besides the batch being sent); beyond it new events go straight to the dead-letter store (reason `overflow`), so a dead endpoint cannot grow memory without bound.',
        ),
      store: z
        .enum(['auto', 'memory', 'sql'])
        .default('auto')
        .describe(
          'Where the delivery queue, retries and dead letters live. `memory`: in the dispatcher process ' +
            '(lost on restart; one dispatcher only); `sql`: the control-plane database (`control.driver` ' +
            'pglite or postgres), durable and shared by every webhook-dispatcher replica and the admin API; ' +
            '`auto`: `sql` when `control.driver` is `postgres`, else `memory`.',
        ),
      occupancyDebounceMilliseconds: int()
        .nonnegative()
        .default(5000)
        .describe(
          'A channel that empties and is subscribed again within this window (a reconnect) causes no ' +
            '`channel_vacated`/`channel_occupied` pair; likewise `member_removed`/`member_added`.',
        ),
      allowNetworks: z
        .array(z.string().regex(/^[0-9A-Fa-f:.]+(\/\d{1,3})?$/, 'allowNetworks entries are IPs or CIDRs'))
        .default([])
        .describe(
          'SSRF allow-list: addresses or CIDRs (`10.0.0.0/8`, `127.0.0.1`) that endpoints may resolve to ' +
            'although they are loopback, private, link-local, CGNAT or metadata addresses, which are refused otherwise.',
        ),
    })
    .prefault({})
    .describe('Webhook events and their delivery (docs/webhooks.md).'),
  pusher: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe(
          'Serve the Pusher Channels protocol: WebSocket protocol 7 at `/app/{key}` (gateway, standalone) ' +
            'and the Pusher HTTP API at `/apps/{app_id}/` (api, standalone); Pusher channel prefixes then ' +
            'carry their Pusher meaning in the default namespace (docs/pusher.md).',
        ),
      activityTimeoutSeconds: int()
        .positive()
        .max(3600)
        .default(120)
        .describe(
          '`activity_timeout` sent in `pusher:connection_established`: a client pings after this long without messages.',
        ),
      maxEventDataBytes: int()
        .positive()
        .default(10 * 1024)
        .describe(
          "Most bytes of one event's `data` (HTTP API events, client events); Pusher's limit is 10 KB.",
        ),
      maxEventChannels: int()
        .positive()
        .max(1000)
        .default(100)
        .describe('Most channels of one HTTP API event (`channels`).'),
      maxBatchEvents: int()
        .positive()
        .max(1000)
        .default(10)
        .describe('Most events of one `POST batch_events`.'),
      clientEventsPerSecond: int()
        .positive()
        .default(10)
        .describe(
          'Client events (`client-*`) one connection may send per second (burst 2x); past it the event is refused with code 4301.',
        ),
      authTimestampSkewSeconds: int()
        .positive()
        .max(3600)
        .default(600)
        .describe(
          "HTTP API requests whose `auth_timestamp` is further than this from the node's clock are refused.",
        ),
      cacheTtlSeconds: int()
        .positive()
        .default(1800)
        .describe(
          'How long the last event of a `cache-` channel is kept when its namespace keeps no history of its own.',
        ),
      pongTimeoutSeconds: int()
        .positive()
        .max(600)
        .default(30)
        .describe(
          "A Pusher connection that sends nothing within this long of the server's `pusher:ping` is closed with 4201.",
        ),
      webhookCoalesceMilliseconds: int()
        .min(0)
        .max(60_000)
        .default(3000)
        .describe(
          'Pusher-format `subscription_count` and `cache_miss` webhooks: at most one per channel per this window and node (docs/pusher.md).',
        ),
    })
    .prefault({})
    .describe('Pusher Channels protocol compatibility (docs/pusher.md).'),
  push: z
    .strictObject({
      maxDevicesPerUser: int()
        .positive()
        .max(1000)
        .default(10)
        .describe('Devices one user may register per app; one more is refused with `limit_devices`.'),
      unackedDelayMilliseconds: int()
        .positive()
        .max(20_000)
        .default(5000)
        .describe(
          'Default wait of the `unacked` policy before a push is sent for an unacknowledged message.',
        ),
      maxAttempts: int()
        .positive()
        .max(20)
        .default(5)
        .describe(
          'Sends of one push to one device (429/5xx/network errors are retried); then the job is dead-lettered.',
        ),
      backoffInitialMilliseconds: int()
        .positive()
        .max(20_000)
        .default(1000)
        .describe(
          'Ceiling of the first retry delay; doubles per attempt, drawn uniformly below it (full jitter).',
        ),
      backoffMaxMilliseconds: int()
        .positive()
        .max(20_000)
        .default(15_000)
        .describe(
          'Largest backoff delay of a retry. A provider Retry-After is honoured beyond it, up to 1 h (then the ' +
            'job is dead-lettered); waiting jobs are parked in the state store, not held in their partition.',
        ),
      requestTimeoutMilliseconds: int()
        .positive()
        .max(60_000)
        .default(10_000)
        .describe(
          'A provider request without an answer within this time counts as a network failure (retried).',
        ),
      dedupeTtlSeconds: int()
        .positive()
        .default(86_400)
        .describe(
          'How long "pushed message m to device d" is remembered, so a redelivered job sends nothing twice.',
        ),
      apnsEndpoint: z
        .url()
        .optional()
        .describe(
          "Origin (`https://host:port`) that replaces Apple's APNs hosts: a relay, or a test server. Unset in production.",
        ),
      fcmEndpoint: z
        .url()
        .optional()
        .describe(
          'Origin that replaces `https://fcm.googleapis.com` (relays, tests); requests are then authorised with ' +
            'a self-signed service-account JWT instead of an OAuth token. Unset in production.',
        ),
      caFile: z
        .string()
        .min(1)
        .optional()
        .describe('PEM file of extra CA certificates trusted for `apnsEndpoint` / `fcmEndpoint`.'),
    })
    .prefault({})
    .describe('Mobile push: devices, policies and the dispatcher (docs/push.md).'),
});

export const nodeConfigSchema = nodeConfigObject
  .superRefine((node, ctx) => {
    if (node.drivers.bus === 'kafka' && node.kafka.brokers.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['kafka', 'brokers'],
        message: 'bus driver kafka needs kafka.brokers (or HERALD_KAFKA_BROKERS)',
      });
    }
    if (node.control.driver === 'postgres' && node.control.postgresUrl === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['control', 'postgresUrl'],
        message: 'driver postgres needs control.postgresUrl (or HERALD_POSTGRES_URL)',
      });
    }
    const ids = new Map<string, number>();
    const keys = new Map<string, number>();
    node.apps.forEach((app, i) => {
      const first = ids.get(app.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['apps', i, 'id'],
          message: `duplicate app id "${app.id}" (also apps[${first}])`,
        });
      } else ids.set(app.id, i);
      for (const [k, key] of app.keys.entries()) {
        const owner = keys.get(key);
        if (owner !== undefined && owner !== i) {
          ctx.addIssue({
            code: 'custom',
            path: ['apps', i, 'keys', k],
            message: `client key is already used by apps[${owner}]; keys must be unique across apps`,
          });
        } else keys.set(key, i);
      }
    });
  })
  .transform((node): NodeConfig => ({ ...node, nodeId: node.nodeId ?? defaultNodeId() }));

/** What a config file (or the merged file + env object) may contain before defaults. */
export type NodeConfigInput = z.input<typeof nodeConfigSchema>;
export type AppConfigInput = z.input<typeof appConfigSchema>;

// Compile-time drift check: the schemas must produce exactly the interfaces in types.ts, both before
// the final normalising transforms (which only fill in `name`, `nodeId` and the effective `recover`)
// and after them. Adding a key to one side only fails `tsc`.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
function assertExact<_T extends true>(): void {}
assertExact<Exact<z.output<typeof namespaceOptionsObject>, NamespaceOptions>>();
assertExact<Exact<z.output<typeof appLimitsSchema>, AppLimits>>();
assertExact<Exact<z.output<typeof publicKeySchema>, PublicKeyConfig>>();
assertExact<Exact<z.output<typeof appConfigObject>, Omit<AppConfig, 'name'> & { name?: string }>>();
assertExact<Exact<z.output<typeof nodeConfigObject>, Omit<NodeConfig, 'nodeId'> & { nodeId?: string }>>();
assertExact<Exact<z.output<typeof appConfigSchema>, AppConfig>>();
assertExact<Exact<z.output<typeof nodeConfigSchema>, NodeConfig>>();
