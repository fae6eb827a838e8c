import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { TokenVerifier } from '@herald/auth';
import { NODE_CONFIG, type AppConfig, type NodeConfig } from '@herald/config';
import { CONTROL_STORE, type ControlStore } from '@herald/control';
import {
  ClientService,
  OutFrame,
  SessionSupervisor,
  SHUTDOWN_ADVICE,
  WriteScheduler,
  pubFrameJson,
  type ReplySink,
} from '@herald/core';
import {
  DisconnectCode,
  ErrorCode,
  HeraldError,
  type ConnectResult,
  type DisconnectDef,
  type ErrorBody,
  type ErrorDef,
  type ReconnectAdvice,
  type Reply,
  type StreamPosition,
  type SubscribeResult,
} from '@herald/protocol';
import { ConnectionAdmission } from './admission.js';
import { corsHeaders, preflightHeaders } from './cors.js';
import {
  HttpTransport,
  PollTransport,
  SESSION_CREDENTIAL_PREFIX,
  STOP_ID_PREFIX,
  SseTransport,
  disconnectJson,
  retryDelay,
  type HttpResponse,
} from './http-transport.js';
import { decodeResumeToken, type ResumeState } from './resume-token.js';
import { SessionRouter } from './session-router.js';

export const SSE_PATH = '/connection/sse';
export const POLL_PATH = '/connection/poll';
export const SESSION_PATH = '/connection/session';

/** Closed poll sessions are remembered this many at most, to tell a returning client why. */
const MAX_TOMBSTONES = 100_000;

interface Tombstone {
  appId: string;
  frame: string;
  at: number;
}

/** What a request carries to open a session. */
interface OpenRequest {
  token: string | undefined;
  channels: string[];
  /** Whether the client asked to resume (a Last-Event-ID or cursor was sent, valid or not). */
  resuming: boolean;
  /** The decoded resume token, when it verified for this app. */
  resume: ResumeState | undefined;
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  // Tells nginx-style proxies not to buffer the stream.
  'x-accel-buffering': 'no',
};

/**
 * The HTTP transports (SSE, long-poll, short-poll) and the session endpoint that carries client
 * commands for them. Like the WebSocket endpoint, it checks what needs no credentials (draining,
 * the node's new-connection budget, the app key, the browser origin), then hands the session to
 * the client service, which decides everything about auth, tenants, limits and delivery: the
 * `connect` and `subscribe` commands a request implies are run through it as ordinary frames.
 *
 * Sessions live here by id while open: an SSE session until its stream ends, a poll session until
 * it is idle for `poll.sessionIdleSeconds` (then it leaves presence like a dropped WebSocket).
 * Node-wide timers, not per-session ones, write SSE heartbeats and expire idle poll sessions.
 */
@Injectable()
export class HttpSessions implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('HttpSessions');
  private readonly live = new Map<string, HttpTransport>();
  private readonly tombstones = new Map<string, Tombstone>();
  private readonly sse = new Set<SseTransport>();
  private timers: NodeJS.Timeout[] = [];

  constructor(
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    private readonly clients: ClientService,
    private readonly supervisor: SessionSupervisor,
    private readonly scheduler: WriteScheduler,
    private readonly admission: ConnectionAdmission,
    private readonly tokens: TokenVerifier,
    private readonly router: SessionRouter,
  ) {}

  onModuleInit(): void {
    // Ticking at half the heartbeat period and writing to streams idle for at least half of it
    // bounds the silence on any stream to one period.
    const half = (this.config.sse.heartbeatSeconds * 1000) / 2;
    this.every(half, () => {
      const now = Date.now();
      for (const t of this.sse) t.heartbeat(now, half);
    });
    this.every(1000, () => this.sweep());
  }

  onModuleDestroy(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  /** Closes poll sessions nobody polls any more, and forgets old tombstones. */
  sweep(now = Date.now()): void {
    const idleMs = this.config.poll.sessionIdleSeconds * 1000;
    for (const t of this.live.values()) {
      if (t instanceof PollTransport && t.waitingPolls === 0 && now - t.idleSince > idleMs) {
        t.expiredIdle = true;
        t.close(DisconnectCode.NO_PONG, 'no poll within poll.sessionIdleSeconds');
      }
    }
    const keepMs = Math.max(idleMs, this.config.poll.holdSeconds * 1000) * 2;
    for (const [id, stone] of this.tombstones) {
      if (now - stone.at <= keepMs) break; // insertion order is closing order
      this.tombstones.delete(id);
    }
  }

  get sessionCount(): number {
    return this.live.size;
  }

  // --- SSE --------------------------------------------------------------------------------------

  /** `GET /connection/sse`: opens a session whose pushes stream back as Server-Sent Events. */
  async sseRequest(req: IncomingMessage, res: HttpResponse): Promise<void> {
    const q = query(req);
    const header = req.headers['last-event-id'];
    const lastEventId =
      (typeof header === 'string' ? header : undefined) ?? q.get('lastEventId') ?? undefined;
    const app = await this.appFor(q.get('key'), res);
    if (app === null) return;
    const cors = app ? corsHeaders(app, req.headers.origin) : {};
    if (!cors) return refuseOrigin(res);
    // EventSource gives up for good on any status but 200 (WHATWG), so every refusal that should
    // be retried is a 200 stream with `retry:` and a disconnect event.
    if (lastEventId?.startsWith(STOP_ID_PREFIX)) {
      // The client was disconnected for good and reconnected anyway: 204 stops EventSource.
      res.writeHead(204, cors);
      res.end();
      return;
    }
    if (this.supervisor.draining)
      return sseRefuse(res, cors, DisconnectCode.SHUTDOWN, this.retryMs, SHUTDOWN_ADVICE);
    if (!app) return sseRefuse(res, cors, DisconnectCode.UNKNOWN_APP, this.retryMs);
    if (!this.admission.take()) return sseRefuse(res, cors, DisconnectCode.NODE_BUSY, this.retryMs);
    res.writeHead(200, { ...SSE_HEADERS, ...cors });
    res.write(`retry: ${this.retryMs}\n\n`);
    const transport = new SseTransport(
      app,
      app.limits.outboundQueueBytes,
      (t, def) => this.onTransportClosed(t, def),
      res,
      this.scheduler,
      this.retryMs,
    );
    this.sse.add(transport);
    res.once('close', () => {
      this.sse.delete(transport);
      transport.abandon();
    });
    const resuming = lastEventId !== undefined && lastEventId !== '';
    await this.open(app, transport, {
      token: bearer(req) ?? q.get('token') ?? undefined,
      channels: channelsOf(q, app),
      resuming,
      resume: resuming ? decodeResumeToken(app, lastEventId) : undefined,
    });
  }

  private get retryMs(): number {
    return this.config.sse.retryMilliseconds;
  }

  // --- long-poll ---------------------------------------------------------------------------------

  /**
   * `GET /connection/poll`: without a cursor, opens a session and answers at once with its first
   * events; with one, acknowledges up to it and answers with what follows (held up to the hold
   * time when there is nothing yet). A cursor whose session is gone (idle, another node, a
   * restart) opens a new session that recovers every channel from the cursor's positions.
   */
  async pollRequest(req: IncomingMessage, res: HttpResponse): Promise<void> {
    const q = query(req);
    const app = await this.appFor(q.get('key'), res);
    if (app === null) return;
    const cors = app ? corsHeaders(app, req.headers.origin) : {};
    if (!cors) return refuseOrigin(res);
    const holdMs = this.holdMs(q.get('wait'));
    if (holdMs === undefined) {
      return sendError(res, cors, ErrorCode.BAD_REQUEST, 'wait must be an integer number of seconds >= 0');
    }
    if (!app) return pollRefuse(res, cors, DisconnectCode.UNKNOWN_APP);
    const credential = bearer(req) ?? q.get('token') ?? undefined;
    const cursor = q.get('cursor') ?? undefined;
    const state = cursor === undefined ? undefined : decodeResumeToken(app, cursor);
    if (state) {
      const live = this.live.get(state.session);
      if (live instanceof PollTransport && live.session.app.id === app.id) {
        const denied = await this.authorize(live, credential);
        if (denied) return sendError(res, cors, denied.def, denied.message);
        setHeaders(res, cors);
        live.poll(res, state.seq, holdMs);
        return;
      }
      if (!live) {
        // Held by another live node (a load balancer sent this poll elsewhere): the owner answers.
        const owner = await this.router.ownerOf(state.session, req);
        if (owner !== undefined) return this.router.forward(req, res, owner);
      }
      const stone = this.tombstones.get(state.session);
      if (stone && stone.appId === app.id) {
        // Told once: the next poll with this cursor opens a new session (if the code allows it).
        this.tombstones.delete(state.session);
        setHeaders(res, cors);
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'cache-control': 'no-store',
        });
        res.end(`{"cursor":${JSON.stringify(cursor)},"events":[${stone.frame}]}`);
        return;
      }
    }
    if (this.supervisor.draining)
      return pollRefuse(res, cors, DisconnectCode.SHUTDOWN, undefined, SHUTDOWN_ADVICE);
    if (credential?.startsWith(SESSION_CREDENTIAL_PREFIX)) {
      // A session credential cannot open a session: the client reconnects with its token.
      return pollRefuse(
        res,
        cors,
        DisconnectCode.INSUFFICIENT_STATE,
        'session is gone; reconnect with a token',
      );
    }
    if (!this.admission.take()) return pollRefuse(res, cors, DisconnectCode.NODE_BUSY);
    const transport = new PollTransport(
      app,
      app.limits.outboundQueueBytes,
      (t, def) => this.onTransportClosed(t, def),
      this.scheduler,
    );
    setHeaders(res, cors);
    await this.open(app, transport, {
      token: credential,
      channels: channelsOf(q, app),
      resuming: cursor !== undefined,
      resume: state,
    });
    transport.poll(res, 0, 0);
  }

  private holdMs(wait: string | null): number | undefined {
    const max = this.config.poll.holdSeconds;
    if (wait === null) return max * 1000;
    if (!/^\d{1,6}$/.test(wait)) return undefined;
    return Math.min(Number(wait), max) * 1000;
  }

  // --- session endpoint --------------------------------------------------------------------------

  /**
   * `POST /connection/session/{id}`: newline-separated command frames for an SSE or poll session,
   * answered with the reply frames (newline-separated) exactly as over WebSocket. Authenticated
   * with the session credential from the connect event, or a connection token of the session's
   * app and user.
   */
  async commandRequest(req: IncomingMessage, res: HttpResponse, id: string): Promise<void> {
    const transport = this.live.get(id);
    if (!transport) {
      // Held by another live node: forwarded there as is, and answered by it.
      const owner = await this.router.ownerOf(id, req);
      if (owner !== undefined) {
        const body = await readBody(req, this.config.ws.maxPayloadBytes);
        if (body === undefined) {
          return sendError(res, {}, ErrorCode.PAYLOAD_TOO_LARGE, 'body exceeds ws.maxPayloadBytes');
        }
        return this.router.forward(req, res, owner, body);
      }
      return sendError(res, {}, ErrorCode.NOT_FOUND, 'unknown session; it ended or its node is gone');
    }
    const cors = corsHeaders(transport.session.app, req.headers.origin);
    if (!cors) return refuseOrigin(res);
    const denied = await this.authorize(transport, bearer(req));
    if (denied) return sendError(res, cors, denied.def, denied.message);
    const text = await readBody(req, this.config.ws.maxPayloadBytes);
    if (text === undefined) {
      return sendError(res, cors, ErrorCode.PAYLOAD_TOO_LARGE, 'body exceeds ws.maxPayloadBytes');
    }
    if (transport instanceof PollTransport) transport.touch();
    const replies: string[] = [];
    await this.clients.handleMessage(transport.session, text, (frame) => replies.push(frame.json));
    if (transport.closed && transport.finalFrame) replies.push(transport.finalFrame);
    setHeaders(res, cors);
    res.writeHead(200, {
      'content-type': 'application/x-ndjson; charset=utf-8',
      'cache-control': 'no-store',
    });
    res.end(replies.length > 0 ? `${replies.join('\n')}\n` : '');
  }

  // --- CORS preflight ------------------------------------------------------------------------------

  async preflight(req: IncomingMessage, res: HttpResponse, target: 'sse' | 'poll' | string): Promise<void> {
    let app: AppConfig | undefined;
    if (target === 'sse' || target === 'poll') {
      const key = query(req).get('key');
      app = key ? await this.control.getAppByKey(key).catch(() => undefined) : undefined;
    } else {
      app = this.live.get(target)?.session.app;
      const owner = app ? undefined : await this.router.ownerOf(target, req);
      if (owner !== undefined) return this.router.forward(req, res, owner);
    }
    const method = target === 'sse' || target === 'poll' ? 'GET' : 'POST';
    const requested = req.headers['access-control-request-method'];
    const headers = preflightHeaders(
      app?.enabled ? app : undefined,
      req.headers.origin,
      typeof requested === 'string' ? requested : undefined,
      method,
    );
    if (!headers) {
      res.writeHead(403, { 'content-length': '0' });
      res.end();
      return;
    }
    res.writeHead(204, headers);
    res.end();
  }

  // --- internals --------------------------------------------------------------------------------

  /** The app of a client key; null when the request has been answered (lookup failed). */
  private async appFor(key: string | null, res: HttpResponse): Promise<AppConfig | undefined | null> {
    if (!key) return undefined;
    try {
      const app = await this.control.getAppByKey(key);
      return app && app.enabled ? app : undefined;
    } catch (err) {
      this.log.error({ msg: 'app lookup failed', err: String(err) });
      sendError(res, {}, ErrorCode.UNAVAILABLE, 'app lookup failed');
      return null;
    }
  }

  /** Undefined when allowed; the error to answer otherwise. */
  private async authorize(
    transport: HttpTransport,
    credential: string | undefined,
  ): Promise<HeraldError | undefined> {
    const session = transport.session;
    if (credential === undefined) return new HeraldError(ErrorCode.UNAUTHORIZED, 'credentials required');
    if (credential.startsWith(SESSION_CREDENTIAL_PREFIX)) {
      const expected = Buffer.from(transport.credential, 'utf8');
      const given = Buffer.from(credential, 'utf8');
      return given.length === expected.length && timingSafeEqual(given, expected)
        ? undefined
        : new HeraldError(ErrorCode.UNAUTHORIZED, 'session credential does not match');
    }
    try {
      // A connection token of the session's app (another app's does not verify) and user.
      const claims = await this.tokens.verifyConnectionToken(session.app, credential);
      return claims.sub === session.user ? undefined : new HeraldError(ErrorCode.TOKEN_USER_MISMATCH);
    } catch (err) {
      if (err instanceof HeraldError) return err;
      throw err;
    }
  }

  /**
   * Creates the session and runs the commands the request implies, as ordinary frames: `connect`
   * (which recovers server-side subscriptions from the resume positions), then `subscribe` for
   * every requested channel and every other channel of the resume token. The answers become the
   * `connect` event; recovered publications follow it as ordinary `pub` events, so a client reads
   * one stream whatever happened. With a resume request, every channel that could not be
   * recovered says `recovered: false`.
   */
  private async open(app: AppConfig, transport: HttpTransport, request: OpenRequest): Promise<void> {
    const session = this.clients.createSession(app, transport);
    transport.session = session;
    this.live.set(session.id, transport);
    // Positions belong to one user: a token for someone else makes them unknown.
    let positions = request.resume?.channels;
    if (request.resume && request.resume.user !== unverifiedSubject(request.token)) positions = undefined;

    const replies = new Map<number, Reply>();
    const sink: ReplySink = (frame) => {
      const reply = JSON.parse(frame.json) as Reply;
      replies.set(reply.id, reply);
      if (reply.id === 1 && 'error' in reply) transport.connectError = reply.error;
    };
    const recover: Record<string, { recover: StreamPosition }> = {};
    for (const [channel, pos] of positions ?? []) if (pos) recover[channel] = { recover: pos };
    const connect = {
      id: 1,
      cmd: 'connect',
      ...(request.token === undefined ? {} : { token: request.token }),
      ...(Object.keys(recover).length > 0 ? { subs: recover } : {}),
    };
    await this.clients.handleMessage(session, JSON.stringify(connect), sink);
    const connected = replies.get(1);
    if (!connected || !('result' in connected) || transport.closed) {
      transport.close(DisconnectCode.SERVER_ERROR); // a no-op when the failed connect closed it
      return;
    }
    const result = connected.result as ConnectResult;

    const wanted: string[] = [];
    for (const channel of [...request.channels, ...(positions?.keys() ?? [])]) {
      if (!(channel in result.subs) && !wanted.includes(channel)) wanted.push(channel);
    }
    let last: Promise<void> = Promise.resolve();
    wanted.forEach((channel, i) => {
      const pos = positions?.get(channel);
      const cmd = { id: i + 2, cmd: 'subscribe', channel, ...(pos ? { recover: pos } : {}) };
      last = this.clients.handleMessage(session, JSON.stringify(cmd), sink);
    });
    await last;
    if (transport.closed) return;

    const subs: Record<string, SubscribeResult> = {};
    const errors: Record<string, ErrorBody> = {};
    const pubs: OutFrame[] = [];
    const add = (channel: string, r: SubscribeResult) => {
      const { publications, ...rest } = r;
      if (request.resuming && rest.recovered === undefined) rest.recovered = false;
      subs[channel] = rest;
      const from = positions?.get(channel);
      if (rest.recovered && from) transport.seed(channel, from);
      for (const p of publications ?? []) {
        const pos =
          p.offset !== undefined && rest.epoch ? { channel, offset: p.offset, epoch: rest.epoch } : undefined;
        pubs.push(new OutFrame(pubFrameJson(channel, JSON.stringify(p)), pos));
      }
    };
    for (const [channel, r] of Object.entries(result.subs)) add(channel, r);
    wanted.forEach((channel, i) => {
      const reply = replies.get(i + 2);
      if (reply && 'result' in reply) add(channel, reply.result as SubscribeResult);
      else if (reply && 'error' in reply) errors[channel] = reply.error;
    });
    const event = {
      push: 'connect',
      ...result,
      subs,
      session: transport.credential,
      ...(Object.keys(errors).length > 0 ? { errors } : {}),
    };
    transport.begin([new OutFrame(JSON.stringify(event)), ...pubs]);
  }

  private onTransportClosed(transport: HttpTransport, def: DisconnectDef | undefined): void {
    const session = transport.session;
    this.live.delete(session.id);
    if (transport instanceof SseTransport) this.sse.delete(transport);
    if (transport instanceof PollTransport && !transport.expiredIdle && transport.finalFrame) {
      if (this.tombstones.size >= MAX_TOMBSTONES) {
        const oldest = this.tombstones.keys().next().value;
        if (oldest !== undefined) this.tombstones.delete(oldest);
      }
      this.tombstones.set(session.id, { appId: session.app.id, frame: transport.finalFrame, at: Date.now() });
    }
    this.clients
      .onClosed(session, def)
      .catch((err: unknown) =>
        this.log.warn({ msg: 'session cleanup failed', app: session.app.id, err: String(err) }),
      );
  }
}

// --- request helpers ----------------------------------------------------------------------------

function query(req: IncomingMessage): URLSearchParams {
  return new URL(req.url ?? '/', 'http://localhost').searchParams;
}

/** `Authorization: Bearer <value>` (scheme case-insensitive). */
function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : undefined;
}

/**
 * Requested channels: `channels=a,b` and/or repeated `channel=` parameters (the only way to name
 * a channel that contains a comma, such as `dialog#42,43`). At most the app's channel limit.
 */
function channelsOf(q: URLSearchParams, app: AppConfig): string[] {
  const out: string[] = [];
  const add = (c: string) => {
    if (c !== '' && !out.includes(c) && out.length < app.limits.maxChannelsPerConnection) out.push(c);
  };
  for (const list of q.getAll('channels')) for (const c of list.split(',')) add(c.trim());
  for (const c of q.getAll('channel')) add(c);
  return out;
}

/** The `sub` of a JWT without verifying it: only to compare with a resume token's user; connect verifies. */
function unverifiedSubject(token: string | undefined): string | undefined {
  const payload = token?.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const sub = (claims as { sub?: unknown } | null)?.sub;
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the body up to `limit` bytes; undefined when it is larger. */
async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  // A JSON body was already parsed by the node's body parser: frames are its objects.
  const parsed = req as IncomingMessage & { _body?: boolean; body?: unknown };
  if (parsed._body === true) {
    const body = parsed.body;
    return Array.isArray(body) ? body.map((f) => JSON.stringify(f)).join('\n') : JSON.stringify(body);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    size += buf.length;
    if (size > limit) return undefined;
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function setHeaders(res: HttpResponse, headers: Record<string, string>): void {
  const r = res as HttpResponse & { setHeader(name: string, value: string): unknown };
  for (const [k, v] of Object.entries(headers)) r.setHeader(k, v);
}

/** A request error in the REST error shape (docs/errors.md), with the code's HTTP status. */
function sendError(
  res: HttpResponse,
  headers: Record<string, string>,
  def: ErrorDef,
  message?: string,
): void {
  if (res.headersSent) return;
  const body = JSON.stringify({ error: { code: def.code, name: def.name, message: message ?? def.message } });
  res.writeHead(def.status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(body);
}

function refuseOrigin(res: HttpResponse): void {
  // No CORS headers: the browser does not let the page read anything.
  sendError(res, {}, ErrorCode.ORIGIN_NOT_ALLOWED);
}

/** A 200 stream of one disconnect event: `retry:` with backoff, or a stop id when terminal. */
function sseRefuse(
  res: HttpResponse,
  cors: Record<string, string>,
  def: DisconnectDef,
  retryMs: number,
  advice?: ReconnectAdvice,
): void {
  const head = def.reconnect ? `retry: ${retryDelay(def, retryMs)}\n` : `id: ${STOP_ID_PREFIX}${def.code}\n`;
  res.writeHead(200, { ...SSE_HEADERS, ...cors });
  res.end(`${head}data: ${disconnectJson(def, undefined, undefined, advice)}\n\n`);
}

function pollRefuse(
  res: HttpResponse,
  cors: Record<string, string>,
  def: DisconnectDef,
  reason?: string,
  advice?: ReconnectAdvice,
): void {
  res.writeHead(200, {
    ...cors,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(`{"events":[${disconnectJson(def, reason, undefined, advice)}]}`);
}
