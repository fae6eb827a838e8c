import { randomBytes } from 'node:crypto';
import type { AppConfig } from '@herald/config';
import type {
  FramePosition,
  Flushable,
  OutFrame,
  Session,
  SubscriptionState,
  Transport,
  WriteScheduler,
} from '@herald/core';
import { transportStats } from '@herald/core';
import {
  DisconnectCode,
  encodeFrame,
  type DisconnectDef,
  type ErrorBody,
  type ReconnectAdvice,
  type StreamPosition,
} from '@herald/protocol';
import { encodeResumeToken, type ResumeTokenCache } from './resume-token.js';
import { OutboundQueue, SLOW_CLOSE_GRACE_MS } from './outbound-queue.js';

/** The part of a node:http response, or a node:http2 compatibility response, the transports use. */
export interface HttpResponse {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly writableLength: number;
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: string): boolean;
  end(chunk?: string): unknown;
  destroy(): unknown;
  once(event: 'close', listener: () => void): unknown;
}

/** Prefix of a session credential: `hs1:<session id>:<secret>`. */
export const SESSION_CREDENTIAL_PREFIX = 'hs1:';

/** Last-Event-ID of the final event of a terminal disconnect: a reconnect carrying it gets 204. */
export const STOP_ID_PREFIX = 'stop.';

/** Disconnect codes after which clients should come back later rather than at once. */
const BACKOFF: ReadonlySet<DisconnectDef> = new Set<DisconnectDef>([
  DisconnectCode.SHUTDOWN,
  DisconnectCode.NODE_BUSY,
  DisconnectCode.CONNECTION_LIMIT,
  DisconnectCode.SERVER_ERROR,
]);

export function disconnectJson(
  def: DisconnectDef,
  reason?: string,
  error?: ErrorBody,
  advice?: ReconnectAdvice,
): string {
  return encodeFrame({
    push: 'disconnect',
    code: def.code,
    reason: reason ?? def.reason,
    reconnect: def.reconnect,
    ...(error ? { error } : {}),
    ...(advice ? { advice } : {}),
  });
}

/**
 * The SSE `retry:` for a disconnect: the configured delay, and for overload and shutdown codes a
 * full-jitter backoff up to five times that, so clients shed together do not return together.
 */
export function retryDelay(def: DisconnectDef, retryMs: number): number {
  return BACKOFF.has(def) ? retryMs + Math.floor(Math.random() * retryMs * 4) : retryMs;
}

/**
 * What SSE and long-poll share (STYLE.md rule 6): the session's outbound side on HTTP. The core
 * session sees a Transport with a bounded queue; this class keeps the queue across the HTTP
 * responses it borrows, and tracks how far the client has been given each channel's stream so
 * it can hand out resume tokens (SSE ids, poll cursors). It never parses frames: positions come
 * from OutFrame.pos and from the session's subscriptions. SSE writes a tick's events through the
 * inherited OutboundQueue; long-poll keeps its events until a poll acknowledges them, so it uses
 * only the queue's bound and scheduler (its tick queue stays empty).
 */
export abstract class HttpTransport extends OutboundQueue<OutFrame> implements Transport {
  abstract readonly kind: 'sse' | 'poll';
  /** Set right after the session is created (the session needs its transport first). */
  session!: Session;
  /** Random part of the session credential (only the client that opened the session gets it). */
  readonly secret = randomBytes(18).toString('base64url');
  closed = false;
  closeDef: DisconnectDef | undefined = undefined;
  /** The frame a client is told when it asks for the session after it was closed. */
  finalFrame: string | undefined = undefined;
  /** The error that failed `connect`, carried in the disconnect event. */
  connectError: ErrorBody | undefined = undefined;
  /** Frames sent while the connect event is being built; they follow it. */
  private held: OutFrame[] | null = [];
  private heldBytes = 0;
  /** How far the client has the stream of each subscription (keyed by the subscription object). */
  private readonly given = new WeakMap<SubscriptionState, StreamPosition>();
  private readonly tokenCache: ResumeTokenCache = {};

  constructor(
    protected readonly app: AppConfig,
    maxQueueBytes: number,
    private readonly onClosed: (transport: HttpTransport, def: DisconnectDef | undefined) => void,
    scheduler: WriteScheduler,
  ) {
    super(scheduler, maxQueueBytes);
  }

  get credential(): string {
    return `${SESSION_CREDENTIAL_PREFIX}${this.session.id}:${this.secret}`;
  }

  send(frame: OutFrame): boolean {
    if (this.closed) return false;
    if (this.held !== null) {
      this.heldBytes += frame.bytes().length;
      if (this.heldBytes > this.maxQueueBytes) {
        this.close(DisconnectCode.SLOW);
        return false;
      }
      this.held.push(frame);
      return true;
    }
    return this.enqueue(frame);
  }

  /** Queues the connect event and recovered publications, then what arrived while they were built. */
  begin(first: OutFrame[]): void {
    const held = this.held ?? [];
    this.held = null;
    for (const frame of first) if (!this.enqueue(frame)) return;
    for (const frame of held) if (!this.enqueue(frame)) return;
  }

  /** The client has `channel` up to `pos` (a recovered subscription starts where it left off). */
  seed(channel: string, pos: StreamPosition): void {
    const sub = this.session.subs.get(channel);
    if (sub) this.given.set(sub, pos);
  }

  close(def: DisconnectDef, reason?: string, advice?: ReconnectAdvice): void {
    if (this.closed) return;
    this.closed = true;
    this.closeDef = def;
    if (def === DisconnectCode.SLOW) transportStats.slowDisconnects.add(this.kind);
    this.finalFrame = disconnectJson(def, reason, this.connectError, advice);
    this.end(def);
    this.onClosed(this, def);
  }

  /** The client went away (its stream closed): the session ends as a WebSocket close would. */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    this.end(undefined);
    this.onClosed(this, undefined);
  }

  protected advance(pos: FramePosition): void {
    const sub = this.session.subs.get(pos.channel);
    if (sub) this.given.set(sub, { offset: pos.offset, epoch: pos.epoch });
  }

  /** Where the client is in every current subscription, by what it has been given so far. */
  protected positions(): Map<string, StreamPosition | undefined> {
    const out = new Map<string, StreamPosition | undefined>();
    for (const [channel, sub] of this.session.subs) out.set(channel, this.given.get(sub) ?? sub.position);
    return out;
  }

  protected resumeToken(seq: number, channels: Map<string, StreamPosition | undefined>): string {
    const s = this.session;
    return encodeResumeToken(this.app, { session: s.id, user: s.user, seq, channels }, this.tokenCache);
  }

  /** Queues a frame after the connect event; false when the queue overflowed (then closing SLOW). */
  protected abstract enqueue(frame: OutFrame): boolean;
  /** Ends the wire side: `def` undefined when the client went away. */
  protected abstract end(def: DisconnectDef | undefined): void;
}

/**
 * Server-Sent Events: one long response per session. Every event is one frame in a `data:` line
 * with an `id:` that is a resume token covering the session's channels up to and including that
 * event; a tick's events go out in one write. The bounded queue counts what is queued here plus
 * what the response has not handed to the kernel yet: a reader that falls behind is disconnected
 * with SLOW (3005) instead of growing memory.
 */
export class SseTransport extends HttpTransport implements Flushable {
  readonly kind = 'sse' as const;
  private seq = 0;
  lastWriteAt = Date.now();

  constructor(
    app: AppConfig,
    maxQueueBytes: number,
    onClosed: (transport: HttpTransport, def: DisconnectDef | undefined) => void,
    private readonly res: HttpResponse,
    scheduler: WriteScheduler,
    private readonly retryMs: number,
  ) {
    super(app, maxQueueBytes, onClosed, scheduler);
  }

  protected enqueue(frame: OutFrame): boolean {
    return this.offer(frame, frame.bytes().length, this.res.writableLength);
  }

  flush(): void {
    const q = this.takeQueued();
    if (q === null || this.res.writableEnded) return;
    let out = '';
    for (let i = 0; i < q.length; i++) {
      const frame = q[i];
      if (frame.pos) this.advance(frame.pos);
      // JSON never holds a raw newline, so a frame is exactly one `data:` line.
      out += `id: ${this.resumeToken(++this.seq, this.positions())}\ndata: ${frame.json}\n\n`;
    }
    this.write(out);
  }

  /** A comment line when nothing was written for `idleMs`, so proxies keep the stream open. */
  heartbeat(now: number, idleMs: number): void {
    if (!this.closed && now - this.lastWriteAt >= idleMs && !this.res.writableEnded) this.write(':\n\n');
  }

  private write(text: string): void {
    this.lastWriteAt = Date.now();
    this.res.write(text);
  }

  protected end(def: DisconnectDef | undefined): void {
    if (def === undefined || def === DisconnectCode.SLOW) {
      this.takeQueued();
    } else {
      this.flush();
    }
    if (def === undefined || this.res.writableEnded) return;
    // Reconnectable: `retry:` sets when EventSource comes back, and the event has no id, so the
    // client resumes from the last event it really got. Terminal: the id becomes a stop marker, so
    // an EventSource that reconnects anyway is answered 204 and stops (WHATWG: 204 ends it).
    const head = def.reconnect
      ? `retry: ${retryDelay(def, this.retryMs)}\n`
      : `id: ${STOP_ID_PREFIX}${def.code}\n`;
    this.res.end(`${head}data: ${this.finalFrame ?? disconnectJson(def)}\n\n`);
    if (def === DisconnectCode.SLOW) {
      // A reader that does not read at all would pin its buffers: cut it off after a short grace.
      setTimeout(() => this.res.destroy(), SLOW_CLOSE_GRACE_MS).unref();
    }
  }
}

interface Entry {
  seq: number;
  frame: OutFrame;
  size: number;
}

interface WaitingPoll {
  res: HttpResponse;
  from: number;
  timer: NodeJS.Timeout | undefined;
}

/** Polls of one session that may wait at once; an extra one answers the oldest (empty) at once. */
export const MAX_WAITING_POLLS = 4;

/**
 * Long-poll and short-poll: the session keeps its events, numbered, until a poll acknowledges them
 * by sending a later cursor, so polling the same cursor twice returns the same events (and any that
 * arrived since). A poll with nothing to return waits up to its hold time; every waiting poll is
 * answered as soon as events arrive, all of them in one response. Between polls the session has
 * no response at all; the registry closes it after `poll.sessionIdleSeconds` without a poll. The
 * retained events are bounded by the app's outbound queue: past it the session closes with SLOW.
 */
export class PollTransport extends HttpTransport implements Flushable {
  readonly kind = 'poll' as const;
  private entries: Entry[] = [];
  private bytes = 0;
  private seq = 0;
  private acked = 0;
  private readonly waiting = new Set<WaitingPoll>();
  private scheduled = false;
  /** When the last poll ended (the session is idle while no poll waits). */
  idleSince = Date.now();
  /** Closed for idleness: the client vanished, it is not told anything. */
  expiredIdle = false;

  constructor(
    app: AppConfig,
    maxQueueBytes: number,
    onClosed: (transport: HttpTransport, def: DisconnectDef | undefined) => void,
    scheduler: WriteScheduler,
  ) {
    super(app, maxQueueBytes, onClosed, scheduler);
  }

  get waitingPolls(): number {
    return this.waiting.size;
  }

  /** Activity on the session endpoint counts as the client being alive. */
  touch(): void {
    this.idleSince = Date.now();
  }

  /**
   * One poll: acknowledges the events up to `cursorSeq`, then answers with the events after it,
   * at once when there are some (or `holdMs` is 0), otherwise when they arrive or the hold ends.
   */
  poll(res: HttpResponse, cursorSeq: number, holdMs: number): void {
    this.touch();
    if (!this.closed) this.ack(cursorSeq);
    // A cursor from the future (forged) reads as "everything"; one older than the last
    // acknowledgement continues after it, as the events before it are gone.
    const from = Math.max(this.acked, Math.min(cursorSeq, this.seq));
    if (this.closed || this.seq > from || holdMs <= 0) {
      this.respond(res, from);
      return;
    }
    const waiting: WaitingPoll = { res, from, timer: undefined };
    waiting.timer = setTimeout(() => this.answer(waiting), holdMs);
    this.waiting.add(waiting);
    res.once('close', () => {
      if (this.waiting.delete(waiting)) {
        clearTimeout(waiting.timer);
        this.touch();
      }
    });
    if (this.waiting.size > MAX_WAITING_POLLS) this.answer(this.waiting.values().next().value as WaitingPoll);
  }

  protected enqueue(frame: OutFrame): boolean {
    const size = frame.bytes().length;
    if (this.bytes + size > this.maxQueueBytes) {
      this.close(DisconnectCode.SLOW);
      return false;
    }
    this.entries.push({ seq: ++this.seq, frame, size });
    this.bytes += size;
    if (this.waiting.size > 0 && !this.scheduled) {
      // Answer once per tick, so events published together travel in one response.
      this.scheduled = true;
      this.scheduler.schedule(this);
    }
    return true;
  }

  flush(): void {
    this.scheduled = false;
    for (const w of [...this.waiting]) if (this.seq > w.from) this.answer(w);
  }

  protected end(def: DisconnectDef | undefined): void {
    for (const w of [...this.waiting]) this.answer(w);
    this.entries = [];
    this.bytes = 0;
    void def;
  }

  private answer(w: WaitingPoll): void {
    if (!this.waiting.delete(w)) return;
    clearTimeout(w.timer);
    this.touch();
    this.respond(w.res, w.from);
  }

  private ack(cursorSeq: number): void {
    const upto = Math.min(cursorSeq, this.seq);
    if (upto <= this.acked) return;
    let n = 0;
    while (n < this.entries.length && this.entries[n].seq <= upto) {
      const e = this.entries[n++];
      this.bytes -= e.size;
      if (e.frame.pos) this.advance(e.frame.pos);
    }
    this.entries.splice(0, n);
    this.acked = upto;
  }

  private respond(res: HttpResponse, from: number): void {
    if (res.writableEnded) return;
    const positions = this.positions();
    const events: string[] = [];
    let last = from;
    for (const e of this.entries) {
      if (e.seq <= from) continue;
      events.push(e.frame.json);
      const pos = e.frame.pos;
      if (pos && positions.has(pos.channel))
        positions.set(pos.channel, { offset: pos.offset, epoch: pos.epoch });
      last = e.seq;
    }
    if (this.closed && this.finalFrame) events.push(this.finalFrame);
    const cursor = this.resumeToken(last, positions);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`{"cursor":"${cursor}","events":[${events.join(',')}]}`);
  }
}
