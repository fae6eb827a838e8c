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
}

export interface NodeConfig {
  env: 'development' | 'production';
  /** Unique id of this node in the cluster (default: hostname-pid-random). */
  nodeId: string;
  http: { host: string; port: number };
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
  /** New connections accepted per second by this node (burst 2x); the rest are shed. */
  newConnectionsPerSecond: number;
  presence: { ttlSeconds: number };
  idempotency: { windowSeconds: number };
  tickets: { ttlSeconds: number };
  shutdown: { drainSeconds: number };
  log: { level: 'debug' | 'info' | 'warn' | 'error' | 'silent' };
}
