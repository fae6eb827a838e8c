import type { AppConfig, SecretScope } from '@herald/config';

/**
 * ControlAdmin: writes to the tenant catalogue (apps, client keys, server secrets, webhook endpoints,
 * push credentials), a separate interface from the read port ControlStore so read paths and
 * read-only drivers (ConfigControlStore) stay small. Only SQL drivers implement it.
 *
 * Guarantees:
 * - Every call is one transaction; a failed call changes nothing.
 * - Errors are HeraldErrors from the catalogue: UNKNOWN_APP (no such app), NOT_FOUND (no such key,
 *   secret, webhook or credential in that app), ALREADY_EXISTS (id taken, or a conflicting change
 *   such as rotating a secret that is already rotating), PERMISSION_DENIED (the app is managed by
 *   the config file), BAD_REQUEST (limits: too many keys or secrets). Messages never contain secrets.
 * - Secret material (server secrets, webhook signing secrets, push private keys) is encrypted before
 *   it is written and is returned in plaintext only by the call that created it (`Created*`).
 *   Records never carry it; `hint` (the last 4 characters) identifies a secret to humans.
 * - Every resource is addressed by (app id, resource id): a resource of another app is NOT_FOUND.
 * - Callers announce every successful change on the bus (`app_changed`) so node caches drop the app.
 */
export interface ControlAdmin {
  listAppRecords(): Promise<AppRecord[]>;
  getAppRecord(appId: string): Promise<AppRecord>;
  /** Creates the app with one client key and one server secret (all scopes but `admin`). */
  createApp(input: NewApp): Promise<CreatedApp>;
  updateApp(appId: string, patch: AppPatch): Promise<AppRecord>;
  setAppEnabled(appId: string, enabled: boolean): Promise<AppRecord>;
  /** Deletes the app and everything it owns (keys, secrets, webhooks, credentials, devices, usage). */
  deleteApp(appId: string): Promise<void>;

  listClientKeys(appId: string): Promise<ClientKeyRecord[]>;
  createClientKey(appId: string, options?: { label?: string }): Promise<ClientKeyRecord>;
  /** Revoked keys stay recorded (never reissued) and stop resolving at once. */
  revokeClientKey(appId: string, key: string): Promise<ClientKeyRecord>;

  listSecrets(appId: string): Promise<SecretRecord[]>;
  createSecret(appId: string, options: { scopes: SecretScope[]; label?: string }): Promise<CreatedSecret>;
  /**
   * Issues a successor with the same scopes and label; the old secret stays live until
   * `now + graceSeconds` (0: retired at once), so two are live during the grace period. A secret
   * that is already retiring cannot be rotated again (ALREADY_EXISTS): at most two live versions.
   */
  rotateSecret(appId: string, secretId: string, options: { graceSeconds: number }): Promise<CreatedSecret>;
  /** Immediate: the secret stops verifying requests and tokens. */
  revokeSecret(appId: string, secretId: string): Promise<SecretRecord>;

  listWebhooks(appId: string): Promise<WebhookRecord[]>;
  createWebhook(appId: string, input: NewWebhook): Promise<CreatedWebhook>;
  /** Changes URL, events, channel prefixes, format or the enabled flag; the secret stays. */
  updateWebhook(appId: string, webhookId: string, patch: WebhookPatch): Promise<WebhookRecord>;
  /**
   * Issues a new signing secret; the previous one keeps signing beside it (two signatures per
   * delivery) until `now + graceSeconds` (0: at once). A rotation during a rotation replaces the
   * older previous secret: at most two live secrets.
   */
  rotateWebhookSecret(
    appId: string,
    webhookId: string,
    options: { graceSeconds: number },
  ): Promise<CreatedWebhook>;
  deleteWebhook(appId: string, webhookId: string): Promise<void>;
  /**
   * Endpoints with their signing secrets, for the webhook dispatcher only. `signingSecret` is the
   * current secret; `signingSecrets` the live ones, newest first (two during a rotation).
   */
  webhookEndpoints(
    appId: string,
  ): Promise<(WebhookRecord & { signingSecret: string; signingSecrets: string[] })[]>;

  listPushCredentials(appId: string): Promise<PushCredentialRecord[]>;
  /** Validated by the caller (admin API); replaces the provider's credential. */
  setPushCredential(appId: string, credential: PushCredential): Promise<PushCredentialRecord>;
  deletePushCredential(appId: string, provider: PushProvider): Promise<void>;
  /** The decrypted credential, for the push dispatcher only; undefined when not configured. */
  pushCredential(appId: string, provider: PushProvider): Promise<PushCredential | undefined>;
}

export const CONTROL_ADMIN = Symbol('ControlAdmin');

export type ManagedBy = 'api' | 'file';

/** Options of an app besides its credentials (the config-file vocabulary, validated). */
export type AppOptions = Pick<
  AppConfig,
  'name' | 'allowedOrigins' | 'namespaces' | 'personalChannel' | 'limits' | 'publicKeys'
>;

export interface AppRecord extends AppOptions {
  id: string;
  enabled: boolean;
  /** `file`: imported from the config at start; read-only through the admin API. */
  managedBy: ManagedBy;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewApp extends AppOptions {
  id: string;
  enabled: boolean;
}

export type AppPatch = Partial<AppOptions>;

export interface CreatedApp {
  app: AppRecord;
  key: ClientKeyRecord;
  secret: CreatedSecret;
}

export interface ClientKeyRecord {
  key: string;
  appId: string;
  label?: string;
  createdAt: Date;
  revokedAt?: Date;
}

export interface SecretRecord {
  id: string;
  appId: string;
  label?: string;
  scopes: SecretScope[];
  /** Last 4 characters, to tell secrets apart. */
  hint: string;
  /** The secret this one replaced (rotation). */
  rotatedFrom?: string;
  createdAt: Date;
  /** Set while rotating: live until then. */
  retiresAt?: Date;
  revokedAt?: Date;
  /** Verifies requests and tokens now. */
  live: boolean;
}

export interface CreatedSecret {
  record: SecretRecord;
  /** Shown once; not recoverable afterwards. */
  secret: string;
}

export interface WebhookRecord {
  id: string;
  appId: string;
  url: string;
  events: string[];
  enabled: boolean;
  createdAt: Date;
  /** Only events of channels starting with one of these (empty: every channel). */
  channelPrefixes?: string[];
  /** `standard` (Standard Webhooks) or `pusher` (Pusher's body and X-Pusher-* headers). */
  format?: WebhookFormat;
  /** Set while a rotated-out secret still signs: until then. */
  previousSecretExpiresAt?: Date;
}

export type WebhookFormat = 'standard' | 'pusher';

export interface NewWebhook {
  url: string;
  events: string[];
  channelPrefixes?: string[];
  format?: WebhookFormat;
  enabled?: boolean;
}

export type WebhookPatch = Partial<NewWebhook>;

export interface CreatedWebhook {
  record: WebhookRecord;
  /** HMAC key of the webhook signatures; shown once. */
  signingSecret: string;
}

export type PushProvider = 'apns' | 'fcm';

export interface ApnsCredential {
  provider: 'apns';
  /** The .p8 signing key (PKCS#8 PEM, EC P-256). */
  keyP8: string;
  keyId: string;
  teamId: string;
  bundleId: string;
  environment: 'sandbox' | 'production';
}

/** A Google service-account JSON key (the fields FCM HTTP v1 needs, plus whatever else it had). */
export interface FcmCredential {
  provider: 'fcm';
  serviceAccount: {
    type: 'service_account';
    project_id: string;
    client_email: string;
    private_key: string;
    [field: string]: unknown;
  };
}

export type PushCredential = ApnsCredential | FcmCredential;

export interface PushCredentialRecord {
  provider: PushProvider;
  /** Non-secret identification: key id, team id, bundle id, environment / project id, client email. */
  metadata: Record<string, string>;
  updatedAt: Date;
}

/** Limits of what one app may hold (bounded input, DESIGN.md). */
export const MAX_CLIENT_KEYS_PER_APP = 10;
export const MAX_LIVE_SECRETS_PER_APP = 10;
export const MAX_WEBHOOKS_PER_APP = 10;
/** Longest grace period of a rotation (30 days). */
export const MAX_ROTATION_GRACE_SECONDS = 30 * 86400;
