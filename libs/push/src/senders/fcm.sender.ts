import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomUUID } from 'node:crypto';
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { Agent, type RequestOptions } from 'node:https';
import { isIP, connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { cert, deleteApp, initializeApp, type App, type Credential } from 'firebase-admin/app';
import { getMessaging, type Messaging } from 'firebase-admin/messaging';
import jwt from 'jsonwebtoken';
import type { DeviceRecord, FcmCredential } from '@herald/control';
import { HeraldError } from '@herald/protocol';
import { parseRetryAfter } from '../backoff.js';
import { buildFcmMessage } from '../payload.js';
import type { PushJob } from '../push-job.js';
import {
  ClientCache,
  type PushCredentialSource,
  type PushSender,
  type SendOutcome,
  type SenderOptions,
} from './push-sender.js';

interface Tenant {
  app: App;
  messaging: Messaging;
}

/**
 * Retry-After of FCM answers. firebase-admin's errors carry no response headers (its
 * `createFirebaseError` keeps only the JSON body: see docs/push.md), so the header is read where
 * Node's HTTP client publishes every request and response (the documented `diagnostics_channel`
 * channels `http.client.request.start` and `http.client.response.finish`): a request started inside
 * a send's async context (AsyncLocalStorage) is that send's, and its last answer's Retry-After is
 * kept in the send's slot. Requests of anything else in the process have no slot and are ignored.
 */
interface ResponseSlot {
  retryAfter?: string;
}
const sendContext = new AsyncLocalStorage<ResponseSlot>();
const requestSlots = new WeakMap<ClientRequest, ResponseSlot>();
let watching = false;

function watchResponses(): void {
  if (watching) return;
  watching = true;
  subscribe('http.client.request.start', (message) => {
    const slot = sendContext.getStore();
    if (slot) requestSlots.set((message as { request: ClientRequest }).request, slot);
  });
  subscribe('http.client.response.finish', (message) => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    const slot = requestSlots.get(request);
    if (!slot) return;
    const value = response.headers['retry-after'];
    // The last answer counts (firebase-admin may have retried a 503 itself before giving up).
    slot.retryAfter = (response.statusCode ?? 0) >= 400 ? value : undefined;
  });
}

/**
 * FCM HTTP v1 through firebase-admin: one firebase App per tenant (named after the app id and a
 * fingerprint of its credential, so a rotated credential gets a fresh App and the old one is
 * deleted), `messaging.send` per device over keep-alive HTTPS.
 *
 * Production uses firebase-admin's service-account credential (OAuth2 access tokens from Google).
 * With `fcmEndpoint` set (a relay, or the test server) the requests go to that origin through an
 * `httpAgent` that connects there whatever host firebase-admin names, and are authorised with a
 * self-signed service-account JWT (audience `https://fcm.googleapis.com/`), so no Google OAuth
 * endpoint is involved.
 *
 * firebase-admin itself retries a 503 up to 4 times (honouring a Retry-After up to 60 s) before an
 * error reaches this class; what still fails is then retried by the dispatcher's own backoff, no
 * sooner than the answer's Retry-After (read as `watchResponses` explains).
 */
export class FcmSender implements PushSender {
  private readonly clients: ClientCache<FcmCredential, Tenant>;
  private readonly agent: Agent | undefined;

  constructor(
    credentials: PushCredentialSource,
    private readonly options: SenderOptions,
  ) {
    watchResponses();
    this.agent =
      options.endpoint !== undefined ? new RedirectAgent(new URL(options.endpoint), options.ca) : undefined;
    this.clients = new ClientCache<FcmCredential, Tenant>(
      (appId) => credentials.fcm(appId),
      (c) => createHash('sha256').update(JSON.stringify(c)).digest('hex').slice(0, 16),
      (appId, c) => this.createTenant(appId, c),
      (t) => deleteApp(t.app),
      options.credentialTtlMs ?? 30_000,
      options.now ?? Date.now,
    );
  }

  async send(device: DeviceRecord, job: PushJob): Promise<SendOutcome> {
    const tenant = await this.clients.get(job.app);
    if (!tenant) return { kind: 'failed', reason: 'no_credentials', detail: 'the app has no FCM credential' };
    let message;
    try {
      message = buildFcmMessage(job.push, device.token, { messageId: job.id }).message;
    } catch (err) {
      if (err instanceof HeraldError)
        return { kind: 'failed', reason: 'payload_too_large', detail: err.message };
      throw err;
    }
    const slot: ResponseSlot = {};
    try {
      await sendContext.run(slot, () => tenant.messaging.send(message));
      return { kind: 'sent' };
    } catch (err) {
      return classifyFcm(err, parseRetryAfter(slot.retryAfter, (this.options.now ?? Date.now)()));
    }
  }

  async close(): Promise<void> {
    await this.clients.closeAll();
    this.agent?.destroy();
  }

  private createTenant(appId: string, c: FcmCredential): Tenant {
    const sa = c.serviceAccount;
    const credential: Credential =
      this.agent !== undefined
        ? new SelfSignedJwtCredential(sa)
        : cert({ projectId: sa.project_id, clientEmail: sa.client_email, privateKey: sa.private_key });
    const app = initializeApp(
      {
        credential,
        projectId: sa.project_id,
        ...(this.agent !== undefined ? { httpAgent: this.agent } : {}),
      },
      // Unique per instance: two dispatchers in one process (tests) never share a firebase App.
      `herald:${appId}:${randomUUID()}`,
    );
    const messaging = getMessaging(app);
    // The HTTP/1.1 path (`send`) takes the httpAgent; one request per device.
    return { app, messaging };
  }
}

/** firebase-admin error codes to outcomes (FCM v1 ErrorCode table); `retryAfterMs` from the answer. */
export function classifyFcm(err: unknown, retryAfterMs?: number): SendOutcome {
  const after = retryAfterMs !== undefined ? { retryAfterMs } : {};
  const code =
    typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  const detail = `FCM ${code || (err instanceof Error ? err.message : String(err))}`;
  switch (code) {
    case 'messaging/registration-token-not-registered':
      return { kind: 'gone', reason: 'unregistered', detail };
    case 'messaging/invalid-registration-token':
      return { kind: 'gone', reason: 'bad_token', detail };
    case 'messaging/message-rate-exceeded':
    case 'messaging/device-message-rate-exceeded':
    case 'messaging/topics-message-rate-exceeded':
      return { kind: 'retry', reason: 'rate_limited', detail, ...after };
    case 'messaging/server-unavailable':
    case 'messaging/internal-error':
    case 'messaging/unknown-error':
      return { kind: 'retry', reason: 'provider_error', detail, ...after };
    case 'messaging/authentication-error':
    case 'messaging/mismatched-credential':
    case 'messaging/third-party-auth-error':
      return { kind: 'failed', reason: 'auth', detail };
    case 'messaging/payload-size-limit-exceeded':
      return { kind: 'failed', reason: 'payload_too_large', detail };
    case 'messaging/invalid-argument':
    case 'messaging/invalid-payload':
      return { kind: 'failed', reason: 'bad_request', detail };
    default:
      return { kind: 'retry', reason: 'network', detail };
  }
}

/**
 * A service-account JWT signed locally and used as the bearer token (Google's "self-signed JWT"
 * for service accounts), refreshed 5 minutes before it expires.
 */
export class SelfSignedJwtCredential implements Credential {
  private token?: { value: string; expiresAt: number };

  constructor(private readonly sa: FcmCredential['serviceAccount']) {}

  async getAccessToken(): Promise<{ access_token: string; expires_in: number }> {
    const now = Math.floor(Date.now() / 1000);
    if (!this.token || this.token.expiresAt - now < 300) {
      const kid = typeof this.sa['private_key_id'] === 'string' ? this.sa['private_key_id'] : undefined;
      const value = jwt.sign(
        {
          iss: this.sa.client_email,
          sub: this.sa.client_email,
          aud: 'https://fcm.googleapis.com/',
          iat: now,
          exp: now + 3600,
        },
        this.sa.private_key,
        { algorithm: 'RS256', ...(kid !== undefined ? { keyid: kid } : {}) },
      );
      this.token = { value, expiresAt: now + 3600 };
    }
    return { access_token: this.token.value, expires_in: this.token.expiresAt - now };
  }
}

/**
 * An HTTPS agent that connects to one fixed origin whatever host a request names (firebase-admin
 * always names fcm.googleapis.com): plain TCP for `http:` origins, TLS (with the extra CA) for
 * `https:` ones.
 */
class RedirectAgent extends Agent {
  constructor(
    private readonly target: URL,
    private readonly ca: string | undefined,
  ) {
    super({ keepAlive: true, maxSockets: 64 });
  }

  // The socket is returned synchronously (Agent then calls back itself); errors reach the request.
  override createConnection(_options: RequestOptions): Duplex {
    const port = Number(this.target.port || (this.target.protocol === 'https:' ? 443 : 80));
    const host = this.target.hostname;
    return this.target.protocol === 'https:'
      ? tlsConnect({
          host,
          port,
          ...(isIP(host) === 0 ? { servername: host } : {}),
          ...(this.ca !== undefined ? { ca: this.ca } : {}),
        })
      : netConnect({ host, port });
  }
}
