/**
 * A real HTTP webhook receiver for end-to-end tests, and the admin-API request helper those tests
 * use to register endpoints. It exists so every webhook suite checks deliveries the same way:
 * through a socket on 127.0.0.1 (port 0), with signatures verified by code that shares nothing
 * with libs/webhooks, de-duplicated by `webhook-id` as a real receiver must, and with bounded waits
 * that say what they waited for.
 *
 * To extend it, add a `mode`, or set `respond` to answer one request in a way no mode covers
 * (a redirect, a 429 with Retry-After).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The fields every Herald webhook event has; tests narrow `data` themselves. */
export interface ReceivedEvent {
  id: string;
  name: string;
  channel?: string;
  user_id?: string;
  client_id?: string;
  push_id?: string;
  reason?: string;
  event?: string;
  data?: unknown;
  time_ms?: number;
}

export interface ReceivedRequest {
  /** Request path, e.g. `/hook` or `/app/wh-a`. */
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The `webhook-id` header. */
  id: string;
  events: ReceivedEvent[];
  /** The Standard Webhooks signature verified with the receiver's secret for this path. */
  valid: boolean;
  /** Date.now() when the request arrived. */
  at: number;
}

/**
 * `ok` answers 200; `hold` records the request and never answers until `release()`; `slow` never
 * answers and does not record (only `slowHits` counts it: the dispatcher's timeout fires); `e500`
 * and `e410` answer those statuses (recorded in `all`, not in `unique`).
 */
export type ReceiverMode = 'ok' | 'hold' | 'slow' | 'e500' | 'e410';

/** An answer chosen per request by `respond`: a status with headers, or hold it open. */
export type ReceiverAnswer = { status: number; headers?: Record<string, string> } | 'hold';

/**
 * Independent Standard Webhooks verifier (written from the spec, no code shared with
 * libs/webhooks/src/signing.ts): HMAC-SHA256 over "id.timestamp.body" keyed with the
 * base64-decoded whsec_ secret, compared in constant time with each "v1,<b64>" of the header.
 */
export function verifyStandardWebhook(secret: string, h: IncomingHttpHeaders, body: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key)
    .update(`${String(h['webhook-id'])}.${String(h['webhook-timestamp'])}.${body}`)
    .digest();
  return String(h['webhook-signature'])
    .split(' ')
    .some((part) => {
      const [v, sig] = part.split(',');
      const got = Buffer.from(sig ?? '', 'base64');
      return v === 'v1' && got.length === expected.length && timingSafeEqual(got, expected);
    });
}

/**
 * Webhook settings of a node that delivers to a WebhookReceiver in a test that waits on retries in
 * real time: the loopback receiver allowed (refused by default), a 1 s request timeout (so a
 * delivery lease lasts 3 s) and backoff from 200 ms up to 1 s. Tests spread it and add their own.
 */
export const FAST_WEBHOOK_SETTINGS = {
  allowNetworks: ['127.0.0.1'],
  requestTimeoutMilliseconds: 1000,
  backoffInitialMilliseconds: 200,
  backoffMaxMilliseconds: 1000,
};

export class WebhookReceiver {
  private server?: Server;
  port = 0;
  mode: ReceiverMode = 'ok';
  /** Overrides `mode` for the requests it answers (return undefined to fall back to `mode`). */
  respond?: (r: ReceivedRequest) => ReceiverAnswer | undefined;
  /** Signing secret, or one per request path (one receiver serving several apps). */
  secret: string | ((path: string) => string | undefined);
  slowHits = 0;
  /** Every recorded request, retries included, in arrival order. */
  readonly all: ReceivedRequest[] = [];
  /** Accepted requests de-duplicated by webhook-id, as a receiver should. */
  readonly unique: ReceivedRequest[] = [];
  /** Requests held open (`hold`), until `release()`. */
  readonly held: ServerResponse[] = [];
  private readonly seen = new Set<string>();
  private waiters: (() => void)[] = [];

  constructor(secret: string | ((path: string) => string | undefined) = '') {
    this.secret = secret;
  }

  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      let rawBody = '';
      req.on('data', (c: Buffer) => (rawBody += c.toString()));
      req.on('end', () => {
        this.handle(req.url ?? '', req.headers, rawBody, res);
        this.waiters.splice(0).forEach((w) => w());
      });
    });
    await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  private handle(path: string, headers: IncomingHttpHeaders, rawBody: string, res: ServerResponse): void {
    if (this.mode === 'slow' && !this.respond) {
      this.slowHits++;
      return;
    }
    let events: ReceivedEvent[] = [];
    try {
      events = (JSON.parse(rawBody) as { events?: ReceivedEvent[] }).events ?? [];
    } catch {
      // Not JSON: recorded with no events; the test sees it in `rawBody`.
    }
    const secret = typeof this.secret === 'string' ? this.secret : (this.secret(path) ?? '');
    const r: ReceivedRequest = {
      path,
      headers,
      rawBody,
      id: String(headers['webhook-id']),
      events,
      valid: verifyStandardWebhook(secret, headers, rawBody),
      at: Date.now(),
    };
    this.all.push(r);
    const answer: ReceiverAnswer =
      this.respond?.(r) ??
      (this.mode === 'e500'
        ? { status: 500 }
        : this.mode === 'e410'
          ? { status: 410 }
          : this.mode === 'hold' || this.mode === 'slow'
            ? 'hold'
            : { status: 200 });
    if (answer !== 'hold' && (answer.status < 200 || answer.status >= 300)) {
      res.writeHead(answer.status, answer.headers).end();
      return;
    }
    if (!this.seen.has(r.id)) {
      this.seen.add(r.id);
      this.unique.push(r);
    }
    if (answer === 'hold') this.held.push(res);
    else res.writeHead(answer.status, answer.headers).end();
  }

  /** Answers every held request with 200. */
  release(): void {
    for (const res of this.held.splice(0)) res.writeHead(200).end();
  }

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  /** Closes the listener (connection refused from now on); `start(port)` reopens it. */
  async down(): Promise<void> {
    const server = this.server;
    if (!server?.listening) return;
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Events of the accepted, de-duplicated requests, in arrival order. */
  events(): ReceivedEvent[] {
    return this.unique.flatMap((r) => r.events);
  }

  /**
   * Resolves when `pred` holds, re-checked on every request the receiver gets; rejects after
   * `timeoutMs` with a message naming `what` was awaited.
   */
  async until(pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`webhook receiver: no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((ok) => {
        const t = setTimeout(ok, left);
        this.waiters.push(() => {
          clearTimeout(t);
          ok();
        });
      });
    }
  }
}

/**
 * One admin-API call with a Bearer token: answers the status and the parsed JSON body ({} when
 * empty). `adminOk` is the same but throws on a non-2xx answer, saying which call failed.
 */
export async function adminRequest<T>(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

export async function adminOk<T>(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const r = await adminRequest<T>(baseUrl, token, method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}
