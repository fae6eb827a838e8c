/**
 * A fake FCM HTTP v1 API, so push tests run the real firebase-admin client end to end on loopback.
 *
 * Why it exists: Google's servers cannot be reached from tests. firebase-admin reaches this server
 * through the dispatcher's `httpAgent` (which connects here whatever host it names) and authorises
 * with a self-signed service-account JWT, which this server verifies against the registered service
 * accounts (RS256, `iss` = client email, audience `https://fcm.googleapis.com/`) and checks that the
 * project in the path is that account's project. It serves `POST /v1/projects/<p>/messages:send`
 * and answers errors in Google's format, `{"error": {code, message, status, details: [{"@type":
 * "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode}]}}`.
 *
 * Extending it: scripted answers per token (`script`), unregistered tokens (`unregister`); every
 * request is recorded in `requests` (an EventLog: wait on it, never sleep).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import { EventLog } from '../e2e/test-node.js';

export interface FcmScriptStep {
  status: number;
  /** FCM ErrorCode (`UNAVAILABLE`, `QUOTA_EXCEEDED`, `INTERNAL`, ...). */
  errorCode?: string;
  retryAfter?: string;
}

export interface FcmRequestRecord {
  project: string;
  token: string;
  status: number;
  errorCode?: string;
  /** client_email of the service account that signed the token. */
  account?: string;
  message?: Record<string, unknown>;
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

export class FakeFcmServer {
  readonly requests = new EventLog<FcmRequestRecord>();
  private readonly server: Server;
  private readonly accounts = new Map<string, { project: string; publicKey: string }>();
  private readonly scripts = new Map<string, FcmScriptStep[]>();
  private readonly unregistered = new Set<string>();
  private port = 0;

  constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async listen(): Promise<this> {
    await new Promise<void>((ok) => this.server.listen(0, '127.0.0.1', ok));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** `http://127.0.0.1:<port>` (the dispatcher's `push.fcmEndpoint`). */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  addServiceAccount(clientEmail: string, project: string, publicKeyPem: string): void {
    this.accounts.set(clientEmail, { project, publicKey: publicKeyPem });
  }

  script(token: string, steps: FcmScriptStep[]): void {
    this.scripts.set(token, [...(this.scripts.get(token) ?? []), ...steps]);
  }

  unregister(token: string): void {
    this.unregistered.add(token);
  }

  delivered(token: string): FcmRequestRecord[] {
    return this.requests.entries.filter((r) => r.token === token && r.status === 200);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const m = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(req.url ?? '');
      const record: FcmRequestRecord = { project: m?.[1] ?? '', token: '', status: 200 };
      const fail = (status: number, errorCode?: string, message = 'error', retryAfter?: string) => {
        record.status = status;
        if (errorCode !== undefined) record.errorCode = errorCode;
        const headers: Record<string, string> = { 'content-type': 'application/json; charset=UTF-8' };
        if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
        const details =
          errorCode !== undefined
            ? [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }]
            : [];
        res.writeHead(status, headers).end(
          JSON.stringify({
            error: { code: status, message, status: STATUS_NAMES[status] ?? 'UNKNOWN', details },
          }),
        );
        this.requests.push(record);
      };
      if (req.method !== 'POST' || !m) return fail(404, undefined, 'not found');
      const auth = req.headers.authorization ?? '';
      if (!auth.startsWith('Bearer ')) return fail(401, undefined, 'missing credentials');
      const token = auth.slice('Bearer '.length);
      const iss = (jwt.decode(token) as jwt.JwtPayload | null)?.iss;
      const account = typeof iss === 'string' ? this.accounts.get(iss) : undefined;
      if (!account) return fail(401, undefined, 'unknown service account');
      try {
        jwt.verify(token, account.publicKey, {
          algorithms: ['RS256'],
          audience: 'https://fcm.googleapis.com/',
        });
      } catch {
        return fail(401, undefined, 'invalid credentials');
      }
      record.account = iss as string;
      if (account.project !== record.project)
        return fail(403, 'SENDER_ID_MISMATCH', 'project does not match credential');
      let parsed: { message?: Record<string, unknown> };
      try {
        parsed = JSON.parse(body) as { message?: Record<string, unknown> };
      } catch {
        return fail(400, 'INVALID_ARGUMENT', 'invalid JSON');
      }
      const message = parsed.message;
      if (!message || typeof message['token'] !== 'string')
        return fail(400, 'INVALID_ARGUMENT', 'message.token');
      record.token = message['token'];
      record.message = message;
      if (this.unregistered.has(record.token))
        return fail(404, 'UNREGISTERED', 'Requested entity was not found.');
      const step = this.scripts.get(record.token)?.shift();
      if (step && step.status !== 200) return fail(step.status, step.errorCode, 'scripted', step.retryAfter);
      res
        .writeHead(200, { 'content-type': 'application/json; charset=UTF-8' })
        .end(JSON.stringify({ name: `projects/${record.project}/messages/${Date.now()}` }));
      this.requests.push(record);
    });
  }
}
