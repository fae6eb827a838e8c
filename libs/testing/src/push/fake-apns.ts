/**
 * A fake APNs provider API, so push tests run the real apns2 client end to end on loopback.
 *
 * Why it exists: Apple's servers cannot be reached from tests, and a mock of apns2 would test
 * nothing of the wire. This server speaks what apns2 speaks: HTTP/2 over TLS (a self-signed
 * certificate the dispatcher is told to trust), `POST /3/device/<hex token>`, the `authorization:
 * bearer <ES256 JWT>` provider token checked against the registered team keys (`kid`, `iss`, age),
 * `apns-topic`, `apns-push-type`, `apns-id` (echoed or generated) and Apple's error bodies
 * `{"reason": ...}` with their statuses (400, 403, 410, 413, 429, 500, 503).
 *
 * Provider tokens: every distinct JWT is recorded in `providerTokens` (per key id, with its `iat`),
 * so tests can assert that a client reuses one token. As Apple does, a key whose token changes again
 * less than 20 minutes (by `iat`) after the last accepted change gets 429
 * `TooManyProviderTokenUpdates` (`tokenUpdateIntervalMs`, 0 turns the check off), and a token older
 * than one hour gets 403 `ExpiredProviderToken`.
 *
 * Extending it: a new behaviour goes into `script` (per token, consumed in order) or a new check in
 * `handle`, with Apple's reason string; every request is recorded in `requests` (an EventLog, so tests
 * wait on it instead of sleeping).
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import { EventLog } from '../e2e/test-node.js';
import type { TestCert } from './test-cert.js';

export interface ApnsScriptStep {
  status: number;
  /** Apple's reason (`TooManyRequests`, `ServiceUnavailable`, ...); required when status is not 200. */
  reason?: string;
  /** `Retry-After` header to send. */
  retryAfter?: string;
}

export interface ApnsRequestRecord {
  /** When the request arrived (epoch ms). */
  at: number;
  token: string;
  status: number;
  reason?: string;
  team?: string;
  keyId?: string;
  topic?: string;
  pushType?: string;
  apnsId: string;
  collapseId?: string;
  priority?: string;
  expiration?: string;
  payload?: Record<string, unknown>;
  /** The provider token (JWT) the request carried. */
  providerToken?: string;
}

/** A provider token seen for the first time. */
export interface ApnsProviderTokenRecord {
  keyId: string;
  token: string;
  /** Its `iat` claim (epoch seconds). */
  iat: number;
  /** Accepted, or refused with TooManyProviderTokenUpdates. */
  accepted: boolean;
}

/** An APNs credential as the admin API takes it (`PUT /v1/admin/apps/{id}/push/apns`). */
export interface ApnsCredentialBody {
  key_p8: string;
  key_id: string;
  team_id: string;
  bundle_id: string;
  environment: 'sandbox';
}

export interface FakeApnsOptions {
  /** Least time between two provider-token changes of one key (default 20 min, Apple's); 0: no check. */
  tokenUpdateIntervalMs?: number;
}

export class FakeApnsServer {
  readonly requests = new EventLog<ApnsRequestRecord>();
  /** Every request as it arrives (before any answer), held ones included. */
  readonly arrivals = new EventLog<{ token: string; at: number }>();
  /** Every distinct provider token, in the order first seen. */
  readonly providerTokens = new EventLog<ApnsProviderTokenRecord>();
  /** Per key id: the current accepted token and its `iat`. */
  private readonly currentToken = new Map<string, { token: string; iat: number }>();
  private readonly tokenUpdateIntervalMs: number;
  private readonly held = new Set<string>();
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly server: Http2SecureServer;
  private readonly teamKeys = new Map<string, { team: string; publicKey: string }>();
  private readonly scripts = new Map<string, ApnsScriptStep[]>();
  private readonly unregistered = new Set<string>();
  private port = 0;

  constructor(tls: TestCert, options: FakeApnsOptions = {}) {
    this.tokenUpdateIntervalMs = options.tokenUpdateIntervalMs ?? 20 * 60_000;
    this.server = createSecureServer({ key: tls.key, cert: tls.cert }, (req, res) => this.handle(req, res));
    this.server.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((ok) => this.server.listen(0, '127.0.0.1', ok));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** `https://127.0.0.1:<port>` (the dispatcher's `push.apnsEndpoint`). */
  get origin(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** Accept provider tokens signed by this key (`kid` = keyId) for this team. */
  addKey(team: string, keyId: string, publicKeyPem: string): void {
    this.teamKeys.set(keyId, { team, publicKey: publicKeyPem });
  }

  /**
   * A new ES256 provider key that this fake accepts (registered as `addKey` does), as the admin API
   * takes it. Team and key ids are random unless given.
   */
  newCredential(bundleId: string, ids: { team?: string; keyId?: string } = {}): ApnsCredentialBody {
    const team = ids.team ?? randomBytes(5).toString('hex').toUpperCase();
    const keyId = ids.keyId ?? randomBytes(5).toString('hex').toUpperCase();
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    this.addKey(team, keyId, ec.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    return {
      key_p8: ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      key_id: keyId,
      team_id: team,
      bundle_id: bundleId,
      environment: 'sandbox',
    };
  }

  /** The next requests for `token` get these answers, in order; then 200. */
  script(token: string, steps: ApnsScriptStep[]): void {
    this.scripts.set(token, [...(this.scripts.get(token) ?? []), ...steps]);
  }

  /** Never answer requests for this token (a provider that hangs: the sender is killed meanwhile). */
  hold(token: string): void {
    this.held.add(token);
  }

  /** Answer requests for this token again (held requests already received stay unanswered). */
  release(token: string): void {
    this.held.delete(token);
  }

  /** Answer 410 Unregistered for this token from now on. */
  unregister(token: string): void {
    this.unregistered.add(token);
  }

  /** Accepted pushes for a token. */
  delivered(token: string): ApnsRequestRecord[] {
    return this.requests.entries.filter((r) => r.token === token && r.status === 200);
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.destroy();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }

  /** A token already current passes; a new one only if the last change is old enough (by `iat`). */
  private acceptToken(keyId: string, token: string, iat: number): boolean {
    const current = this.currentToken.get(keyId);
    if (current?.token === token) return true;
    const accepted =
      current === undefined ||
      this.tokenUpdateIntervalMs === 0 ||
      (iat - current.iat) * 1000 >= this.tokenUpdateIntervalMs;
    if (!this.providerTokens.entries.some((t) => t.token === token))
      this.providerTokens.push({ keyId, token, iat, accepted });
    if (accepted) this.currentToken.set(keyId, { token, iat });
    return accepted;
  }

  private handle(req: Http2ServerRequest, res: Http2ServerResponse): void {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const apnsId = typeof req.headers['apns-id'] === 'string' ? req.headers['apns-id'] : randomUUID();
      const m = /^\/3\/device\/([^/]+)$/.exec(req.url);
      const token = m ? decodeURIComponent(m[1]) : '';
      const record: ApnsRequestRecord = { at: Date.now(), token, status: 200, apnsId };
      this.arrivals.push({ token, at: record.at });
      if (this.held.has(token)) return;
      const h = (name: string) => {
        const v = req.headers[name];
        return typeof v === 'string' ? v : undefined;
      };
      record.topic = h('apns-topic');
      record.pushType = h('apns-push-type');
      record.collapseId = h('apns-collapse-id');
      record.priority = h('apns-priority');
      record.expiration = h('apns-expiration');
      const answer = (status: number, reason?: string, retryAfter?: string) => {
        record.status = status;
        if (reason !== undefined) record.reason = reason;
        const headers: Record<string, string> = { 'apns-id': apnsId };
        if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
        if (status === 200) {
          res.writeHead(200, headers).end();
        } else {
          headers['content-type'] = 'application/json';
          const payload: Record<string, unknown> = { reason };
          if (status === 410) payload['timestamp'] = Date.now();
          res.writeHead(status, headers).end(JSON.stringify(payload));
        }
        this.requests.push(record);
      };
      if (req.method !== 'POST') return answer(405, 'MethodNotAllowed');
      if (!m || !/^[0-9A-Fa-f]{64,200}$/.test(token)) return answer(400, 'BadDeviceToken');
      const auth = h('authorization');
      if (!auth?.startsWith('bearer ')) return answer(403, 'MissingProviderToken');
      const jwtText = auth.slice('bearer '.length);
      const decoded = jwt.decode(jwtText, { complete: true });
      const kid = decoded?.header.kid;
      const key = kid !== undefined ? this.teamKeys.get(kid) : undefined;
      if (!key) return answer(403, 'InvalidProviderToken');
      try {
        const claims = jwt.verify(jwtText, key.publicKey, { algorithms: ['ES256'] }) as jwt.JwtPayload;
        if (claims.iss !== key.team) return answer(403, 'InvalidProviderToken');
        // Apple refuses provider tokens older than one hour.
        if (typeof claims.iat !== 'number' || Date.now() / 1000 - claims.iat > 3600)
          return answer(403, 'ExpiredProviderToken');
        record.providerToken = jwtText;
        if (!this.acceptToken(kid as string, jwtText, claims.iat))
          return answer(429, 'TooManyProviderTokenUpdates');
      } catch {
        return answer(403, 'InvalidProviderToken');
      }
      record.team = key.team;
      record.keyId = kid;
      if (!record.topic) return answer(400, 'MissingTopic');
      if (record.pushType !== 'alert' && record.pushType !== 'background')
        return answer(400, 'InvalidPushType');
      if (Buffer.byteLength(body, 'utf8') > 4096) return answer(413, 'PayloadTooLarge');
      try {
        record.payload = JSON.parse(body) as Record<string, unknown>;
      } catch {
        return answer(400, 'PayloadEmpty');
      }
      if (this.unregistered.has(token)) return answer(410, 'Unregistered');
      const step = this.scripts.get(token)?.shift();
      if (step) return answer(step.status, step.reason, step.retryAfter);
      answer(200);
    });
  }
}
