import { createHash } from 'node:crypto';
import { ApnsClient, ApnsError, Errors, Host } from 'apns2';
import type { ApnsCredential, DeviceRecord } from '@herald/control';
import { HeraldError } from '@herald/protocol';
import { parseRetryAfter } from '../backoff.js';
import { buildApnsNotification } from '../payload.js';
import type { PushJob } from '../push-job.js';
import {
  ClientCache,
  type PushCredentialSource,
  type PushSender,
  type SendOutcome,
  type SenderOptions,
} from './push-sender.js';

type ApnsPool = ApnsClient['client'];
type PoolRequest = (opts: { path: string; [k: string]: unknown }) => Promise<{
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
}>;

interface Tenant {
  client: ApnsClient;
  /** Retry-After of the last non-200 answer per request path (apns2 does not expose headers). */
  retryAfter: Map<string, string>;
  bundleId: string;
}

/**
 * APNs through apns2: one long-lived client per app (HTTP/2 sessions kept open and pinged, as Apple
 * asks: tearing a session down per push gets a provider throttled). apns2 signs the ES256 provider
 * token once and reuses it for 55 minutes, inside Apple's 20–60 minute window, and drops it when
 * APNs answers ExpiredProviderToken.
 *
 * The client's connection pool is replaced by one built here, for three things apns2 does not
 * offer: request timeouts, reading `Retry-After`, and (relays, tests) another origin with extra CA
 * certificates. The pool is apns2's own class with apns2's settings; requests, paths and headers
 * are still apns2's.
 */
export class ApnsSender implements PushSender {
  private readonly clients: ClientCache<ApnsCredential, Tenant>;

  constructor(
    credentials: PushCredentialSource,
    private readonly options: SenderOptions,
  ) {
    const now = options.now ?? Date.now;
    this.clients = new ClientCache<ApnsCredential, Tenant>(
      (appId) => credentials.apns(appId),
      (c) => createHash('sha256').update(JSON.stringify(c)).digest('hex'),
      (_appId, c) => this.createTenant(c),
      (t) => t.client.close(),
      options.credentialTtlMs ?? 30_000,
      now,
    );
  }

  async send(device: DeviceRecord, job: PushJob): Promise<SendOutcome> {
    const tenant = await this.clients.get(job.app);
    if (!tenant)
      return { kind: 'failed', reason: 'no_credentials', detail: 'the app has no APNs credential' };
    let notification;
    try {
      notification = buildApnsNotification(job.push, device.token, {
        topic: device.target ?? tenant.bundleId,
        messageId: job.id,
        nowMs: (this.options.now ?? Date.now)(),
      }).notification;
    } catch (err) {
      if (err instanceof HeraldError)
        return { kind: 'failed', reason: 'payload_too_large', detail: err.message };
      throw err;
    }
    const path = `/3/device/${encodeURIComponent(device.token)}`;
    try {
      await tenant.client.send(notification);
      return { kind: 'sent' };
    } catch (err) {
      const retryAfter = tenant.retryAfter.get(path);
      tenant.retryAfter.delete(path);
      if (!(err instanceof ApnsError)) {
        return { kind: 'retry', reason: 'network', detail: err instanceof Error ? err.message : String(err) };
      }
      return classify(err, parseRetryAfter(retryAfter, Date.now()));
    }
  }

  close(): Promise<void> {
    return this.clients.closeAll();
  }

  private createTenant(c: ApnsCredential): Tenant {
    const client = new ApnsClient({
      team: c.teamId,
      keyId: c.keyId,
      signingKey: c.keyP8,
      defaultTopic: c.bundleId,
      host: c.environment === 'production' ? Host.production : Host.development,
    });
    const retryAfter = new Map<string, string>();
    const origin = this.options.endpoint ?? `https://${client.host}:443`;
    const PoolClass = client.client.constructor as new (
      origin: string,
      opts: Record<string, unknown>,
    ) => ApnsPool;
    const pool = new PoolClass(origin, {
      // apns2's own settings (keep-alive mode), plus timeouts and the optional extra CA.
      connections: 32,
      pipelining: 1,
      allowH2: true,
      maxConcurrentStreams: 100,
      headersTimeout: this.options.timeoutMs,
      bodyTimeout: this.options.timeoutMs,
      ...(this.options.ca !== undefined ? { connect: { ca: this.options.ca } } : {}),
    });
    // apns2's pool never connected (connections are lazy): close it and put ours in its place.
    void client.client.close().catch(() => undefined);
    Object.defineProperty(client, 'client', { value: capturing(pool, retryAfter), writable: false });
    return { client, retryAfter, bundleId: c.bundleId };
  }
}

/** The pool with `request` wrapped to remember Retry-After of failed answers by path. */
function capturing(pool: ApnsPool, retryAfter: Map<string, string>): ApnsPool {
  const request: PoolRequest = async (opts) => {
    const res = await (pool.request as unknown as PoolRequest).call(pool, opts);
    const value = res.headers['retry-after'];
    if (res.statusCode !== 200 && value !== undefined)
      retryAfter.set(opts.path, Array.isArray(value) ? (value[0] ?? '') : value);
    return res;
  };
  return new Proxy(pool, {
    get(target, prop) {
      if (prop === 'request') return request;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** APNs status and reason to an outcome (Apple's "Handling notification responses" table). */
export function classify(err: ApnsError, retryAfterMs: number | undefined): SendOutcome {
  const detail = `APNs ${err.statusCode} ${err.reason}`;
  if (err.statusCode === 410 || err.reason === Errors.unregistered)
    return { kind: 'gone', reason: 'unregistered', detail };
  if (err.reason === Errors.badDeviceToken) return { kind: 'gone', reason: 'bad_token', detail };
  if (err.statusCode === 413 || err.reason === Errors.payloadTooLarge)
    return { kind: 'failed', reason: 'payload_too_large', detail };
  if (err.statusCode === 429)
    return {
      kind: 'retry',
      reason: 'rate_limited',
      detail,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  if (err.statusCode >= 500)
    return {
      kind: 'retry',
      reason: 'provider_error',
      detail,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  // apns2 already dropped the expired token; the next attempt signs a fresh one.
  if (err.reason === Errors.expiredProviderToken) return { kind: 'retry', reason: 'auth', detail };
  if (err.statusCode === 403) return { kind: 'failed', reason: 'auth', detail };
  return { kind: 'failed', reason: 'bad_request', detail };
}
