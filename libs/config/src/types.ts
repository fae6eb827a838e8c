/**
 * The shapes of validated configuration. The zod schema in schema.ts produces exactly these
 * (it is typed against them), and defaults are applied there, in one place.
 */

export interface NamespaceOptions {
  /** Publications kept per channel; 0 disables history (then the channel is at-most-once). */
  historySize: number;
  /** How long a publication stays in history. */
  historyTtlSeconds: number;
  /** Track presence members in the channel. */
  presence: boolean;
  /** Send join/leave pushes to subscribers (requires presence). */
  joinLeave: boolean;
  /** Clients may publish into the channel over their connection. */
  allowPublish: boolean;
  /** Subscribers may query presence. */
  allowPresence: boolean;
  /** Subscribers may query history. */
  allowHistory: boolean;
  /** Subscribing requires a subscription token signed by the app. */
  private: boolean;
  /** Subscribers may recover missed publications on resubscribe (needs history). */
  recover: boolean;
}

export interface AppLimits {
  /** Max bytes of one client frame (WebSocket message) and of one REST publish's data. */
  maxFrameBytes: number;
  /** Max bytes of one REST request body. */
  maxBodyBytes: number;
  maxChannelsPerConnection: number;
  /** Live connections of the app (0 = unlimited). */
  maxConnections: number;
  /** Live connections of one user (0 = unlimited). */
  maxConnectionsPerUser: number;
  /** Publishes per second for the whole app through the REST API (sustained rate; burst 2x). */
  publishesPerSecond: number;
  /** Client publishes per second per connection (burst 2x). */
  clientPublishesPerSecond: number;
  /** Presence members per channel (0 = unlimited). */
  maxPresenceMembers: number;
  /** Bytes queued for one connection before it is disconnected as slow. */
  outboundQueueBytes: number;
}

export interface PublicKeyConfig {
  /** Optional key id, matched against the JWT `kid` header when present. */
  kid?: string;
  /** PEM-encoded RSA (RS256) or EC P-256 (ES256) public key. */
  pem: string;
}

export interface AppConfig {
  id: string;
  name: string;
  enabled: boolean;
  /** Public client keys (used in connection URLs). */
  keys: string[];
  /** Server secrets: REST Bearer auth and HS256 token signing. Two may be live during rotation. */
  secrets: string[];
  /** Public keys for RS256/ES256 connection and subscription tokens. */
  publicKeys: PublicKeyConfig[];
  /** Allowed browser origins; "*" allows all; patterns may use a leading "*." wildcard host. */
  allowedOrigins: string[];
  /** Namespace options by name; "" (or "default" in files) is the default namespace. */
  namespaces: Record<string, NamespaceOptions>;
  /** Auto-subscribe every authenticated connection to its personal channel `#<user>`. */
  personalChannel: boolean;
  limits: AppLimits;
  /**
   * Scopes of each server secret, index-aligned with `secrets`. Set by the SQL control store for
   * secrets created through the admin API; absent (config-file apps) means every secret has every
   * scope. Not a config-file key.
   */
  secretScopes?: SecretScope[][];
}

/**
 * What a server secret may do: `publish` (the tenant REST API, reads included), `token` (sign HS256
 * connection and subscription tokens), `stats` (read-only REST routes), `admin` (the admin API of
 * its own app).
 */
export type SecretScope = 'publish' | 'token' | 'stats' | 'admin';

export interface ControlConfig {
  /** `config`: apps of this file only (read-only); `pglite`: embedded SQL under dataDir; `postgres`. */
  driver: 'config' | 'pglite' | 'postgres';
  /** Directory of the embedded database (and, in development, the generated master key). */
  dataDir: string;
  /** postgres://user:password@host:port/db (driver postgres); never logged. */
  postgresUrl?: string;
  /** How long a node serves a cached app before reading it again (changes also invalidate it). */
  cacheTtlSeconds: number;
  /** How often usage counters are written to the store. */
  usageFlushSeconds: number;
}

export interface AdminConfig {
  /** Bearer token of the admin API (HERALD_ADMIN_TOKEN); absent: generated in development, API off otherwise. */
  token?: string;
}

export interface RedisConfig {
  /** redis://[user:password@]host:port[/db] or rediss:// (TLS); never logged. */
  url: string;
  /** Prepended to every key; the app id follows as a hash tag (`herald:{app}:...`). */
  keyPrefix: string;
  /** A connection attempt gives up after this long (and is retried with backoff). */
  connectTimeoutMilliseconds: number;
  /** A command fails (503 UNAVAILABLE at the API) when Redis does not answer within this time. */
  commandTimeoutMilliseconds: number;
}

/** Which driver backs each port (the memory drivers are the zero-config, single-node default). */
export interface DriversConfig {
  /** The Bus: `memory` (in-process log) or `kafka` (needs `kafka.brokers`). */
  bus: 'memory' | 'kafka';
  /** The PresenceRegistry: `memory` or `redis`. */
  presence: 'memory' | 'redis';
  /** The HistoryStore: `memory` or `redis`. */
  history: 'memory' | 'redis';
  /** Rate limits, tickets, revocations and idempotency keys: `memory` or `redis`. */
  state: 'memory' | 'redis';
}

export interface KafkaConfig {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Client id sent to Kafka. */
  clientId: string;
  /** Partitions of topics Herald creates. */
  partitions: number;
  /** Replicas of topics Herald creates. */
  replicationFactor: number;
  /** Prepended to every topic and consumer-group name. */
  topicPrefix: string;
}

export interface NodeConfig {
  env: 'development' | 'production';
  /** Unique id of this node in the cluster (default: hostname-pid-random). */
  nodeId: string;
  http: {
    host: string;
    port: number;
    /** With both files set, the listener serves HTTPS: HTTP/2 with HTTP/1.1 fallback on one port. */
    tls: { certFile?: string; keyFile?: string };
  };
  /** Where apps came from: 'file', 'env' or 'dev' (generated development app). */
  appsSource: 'file' | 'env' | 'dev';
  apps: AppConfig[];
  ws: {
    pingIntervalSeconds: number;
    pongTimeoutSeconds: number;
    /** A connection must send `connect` within this time. */
    connectTimeoutSeconds: number;
    /** Hard cap on any frame, whatever the app allows (bytes). */
    maxPayloadBytes: number;
  };
  /** Server-Sent Events transport (`/connection/sse`). */
  sse: {
    /** A comment line is written to an idle stream at least this often (at most 15 s). */
    heartbeatSeconds: number;
    /** The `retry:` sent to EventSource: its reconnect delay in milliseconds. */
    retryMilliseconds: number;
  };
  /** Long-poll and short-poll transport (`/connection/poll`). */
  poll: {
    /** A long poll with nothing to return is held this long, then answered empty. */
    holdSeconds: number;
    /** A poll session with no poll in flight for this long is closed (presence removed). */
    sessionIdleSeconds: number;
  };
  /** New connections accepted per second by this node (burst 2x); the rest are shed. */
  newConnectionsPerSecond: number;
  presence: {
    ttlSeconds: number;
    /** Lease of a gateway's subscription counts (OccupancyCounter); expired leases are swept. */
    occupancyLeaseMilliseconds: number;
  };
  idempotency: { windowSeconds: number };
  tickets: { ttlSeconds: number };
  shutdown: { drainSeconds: number };
  log: { level: 'debug' | 'info' | 'warn' | 'error' | 'silent' };
  /** Where apps, keys and credentials are stored (the ControlStore driver). */
  control: ControlConfig;
  admin: AdminConfig;
  /** Redis for the cluster drivers of presence, history and the shared state stores. */
  redis: RedisConfig;
  /** The driver of each port. */
  drivers: DriversConfig;
  /** Kafka for the `kafka` bus driver. */
  kafka: KafkaConfig;
  /** How the nodes of a cluster reach each other. */
  cluster: ClusterConfig;
  /** Webhook events and their delivery (libs/webhooks, docs/webhooks.md). */
  webhooks: WebhooksConfig;
  /** Pusher Channels protocol compatibility (libs/pusher, docs/pusher.md). */
  pusher: PusherConfig;
  /** Mobile push: devices, policies and the dispatcher (libs/push, docs/push.md). */
  push: PushConfig;
}

export interface PushConfig {
  /** Devices one user may register per app. */
  maxDevicesPerUser: number;
  /** Default wait of the `unacked` policy. */
  unackedDelayMilliseconds: number;
  /** Sends of one push to one device before the job is dead-lettered. */
  maxAttempts: number;
  /** First retry delay ceiling; doubles per attempt (full jitter). */
  backoffInitialMilliseconds: number;
  /** Retry delay ceiling (also caps Retry-After). */
  backoffMaxMilliseconds: number;
  /** Provider request timeout. */
  requestTimeoutMilliseconds: number;
  /** How long a sent (message, device) pair is remembered. */
  dedupeTtlSeconds: number;
  /** Replaces the APNs origin (relays, tests). */
  apnsEndpoint?: string;
  /** Replaces the FCM origin (relays, tests). */
  fcmEndpoint?: string;
  /** Extra CA certificates (PEM file) for the replaced origins. */
  caFile?: string;
}

export interface WebhooksConfig {
  /** An undelivered batch is retried for this long, then dead-lettered. */
  retentionHours: number;
  /** A delivery that has no complete response after this long counts as failed. */
  requestTimeoutMilliseconds: number;
  /** Most events in one POST. */
  batchSize: number;
  /** Most body bytes in one POST (a single larger event is sent alone). */
  batchMaxBytes: number;
  /** First retry delay ceiling; doubles per attempt (full jitter). */
  backoffInitialMilliseconds: number;
  /** Retry delay ceiling. */
  backoffMaxMilliseconds: number;
  /** Deliveries in flight at once on this node, over all endpoints. */
  maxConcurrentDeliveries: number;
  /** Of those, at most this many for one app's endpoints (fairness: one app never takes every slot). */
  maxConcurrentDeliveriesPerApp: number;
  /** Events queued per endpoint; beyond it new events are dead-lettered (bounded memory). */
  maxQueuedPerEndpoint: number;
  /** Delivery queue and dead letters: `memory`, `sql` (control database), `auto` (sql on postgres). */
  store: 'auto' | 'memory' | 'sql';
  /** A channel that empties and fills again within this window causes no vacated/occupied pair. */
  occupancyDebounceMilliseconds: number;
  /** Addresses (IP or CIDR) that endpoints may resolve to even though they are private. */
  allowNetworks: string[];
}

export interface ClusterConfig {
  /**
   * Base URL at which other nodes reach this one (HTTP session commands are forwarded to the node
   * holding the session). Unset: derived from `http.host` and the listening port.
   */
  advertiseUrl?: string;
}

export interface PusherConfig {
  /** Serve the Pusher WebSocket protocol and HTTP API. */
  enabled: boolean;
  /** `activity_timeout` announced to clients (seconds). */
  activityTimeoutSeconds: number;
  /** Most bytes of one event's data. */
  maxEventDataBytes: number;
  /** Most channels of one HTTP API event. */
  maxEventChannels: number;
  /** Most events of one batch. */
  maxBatchEvents: number;
  /** Client events per connection per second (burst 2x). */
  clientEventsPerSecond: number;
  /** Allowed distance of `auth_timestamp` from the node's clock. */
  authTimestampSkewSeconds: number;
  /** History TTL of `cache-` channels whose namespace keeps none. */
  cacheTtlSeconds: number;
  /** Wait for any message after the server's `pusher:ping` before closing with 4201 (seconds). */
  pongTimeoutSeconds: number;
  /** Window coalescing `subscription_count` and `cache_miss` webhooks per channel (ms). */
  webhookCoalesceMilliseconds: number;
}
