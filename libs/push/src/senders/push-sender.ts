import type { ApnsCredential, DeviceRecord, FcmCredential } from '@herald/control';
import type { PushJob } from '../push-job.js';

/** Why a push failed, as a bounded metric label and the `reason` of `push_failed` events. */
export type PushFailureReason =
  | 'unregistered'
  | 'bad_token'
  | 'payload_too_large'
  | 'rate_limited'
  | 'provider_error'
  | 'network'
  | 'auth'
  | 'bad_request'
  | 'no_credentials';

export const PUSH_FAILURE_REASONS: readonly PushFailureReason[] = [
  'unregistered',
  'bad_token',
  'payload_too_large',
  'rate_limited',
  'provider_error',
  'network',
  'auth',
  'bad_request',
  'no_credentials',
];

/**
 * What one send to one device came to:
 * - `sent`: the provider accepted it.
 * - `gone`: the token is dead (APNs 410 / BadDeviceToken, FCM UNREGISTERED / invalid token): delete it.
 * - `retry`: temporary (429, 5xx, network); `retryAfterMs` when the provider said how long to wait.
 * - `failed`: permanent for this job (bad request, credentials refused, payload too large).
 */
export type SendOutcome =
  | { kind: 'sent' }
  | { kind: 'gone'; reason: PushFailureReason; detail: string }
  | { kind: 'retry'; reason: PushFailureReason; detail: string; retryAfterMs?: number }
  | { kind: 'failed'; reason: PushFailureReason; detail: string };

/** One provider. Implementations keep one long-lived client per app and use only that app's credential. */
export interface PushSender {
  send(device: DeviceRecord, job: PushJob): Promise<SendOutcome>;
  /** Closes every client (shutdown). */
  close(): Promise<void>;
}

/** Where senders read an app's credential (the SQL control store's decrypted credential). */
export interface PushCredentialSource {
  apns(appId: string): Promise<ApnsCredential | undefined>;
  fcm(appId: string): Promise<FcmCredential | undefined>;
}

/** Endpoint overrides (relays, tests) and request timeout, from the `push` config section. */
export interface SenderOptions {
  endpoint?: string;
  /** Extra trusted CA certificates (PEM) for `endpoint`. */
  ca?: string;
  timeoutMs: number;
  /** How long a cached credential is trusted before it is read again (rotation). */
  credentialTtlMs?: number;
  now?: () => number;
}

/**
 * A per-app cache of long-lived clients, rebuilt when the app's credential changed (checked at most
 * every `credentialTtlMs`). Keyed by app id only: a client is built from that app's credential and
 * used for that app's jobs, so no app ever sends with another's credential.
 */
export class ClientCache<C, K> {
  private readonly entries = new Map<string, { client: K; fingerprint: string; checkedAt: number }>();

  constructor(
    private readonly load: (appId: string) => Promise<C | undefined>,
    private readonly fingerprint: (c: C) => string,
    private readonly create: (appId: string, c: C) => K,
    private readonly dispose: (k: K) => Promise<void>,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  /** Concurrent first sends of one app share one load, so exactly one client is built. */
  private readonly loading = new Map<string, Promise<K | undefined>>();

  async get(appId: string): Promise<K | undefined> {
    const e = this.entries.get(appId);
    if (e && this.now() - e.checkedAt < this.ttlMs) return e.client;
    let p = this.loading.get(appId);
    if (!p) {
      p = this.refresh(appId).finally(() => this.loading.delete(appId));
      this.loading.set(appId, p);
    }
    return p;
  }

  private async refresh(appId: string): Promise<K | undefined> {
    const e = this.entries.get(appId);
    const credential = await this.load(appId);
    if (!credential) {
      if (e) await this.drop(appId);
      return undefined;
    }
    const fp = this.fingerprint(credential);
    if (e && e.fingerprint === fp) {
      e.checkedAt = this.now();
      return e.client;
    }
    if (e) await this.drop(appId);
    const client = this.create(appId, credential);
    this.entries.set(appId, { client, fingerprint: fp, checkedAt: this.now() });
    return client;
  }

  private async drop(appId: string): Promise<void> {
    const e = this.entries.get(appId);
    this.entries.delete(appId);
    if (e) await this.dispose(e.client).catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((id) => this.drop(id)));
  }
}
