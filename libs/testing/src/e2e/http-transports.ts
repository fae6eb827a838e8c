import {
  request as httpRequest,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import type { ConnectPush, Push, ServerFrame } from '@herald/protocol';
import { DEFAULT_WAIT_MS, withTimeout } from './test-client.js';

/**
 * Clients of the HTTP transports for end-to-end tests, on node:http and fetch directly (the
 * `eventsource` package is used by the specs themselves, as a browser would): a raw SSE stream
 * whose socket a test can pause or cut, long-poll requests, and the session endpoint. Every wait
 * is event-driven with a deadline (STYLE.md habit 11).
 */

/** One dispatched Server-Sent Event. */
export interface SseEvent {
  /** The `id:` field of this event, when it had one. */
  id: string | undefined;
  data: string;
}

/**
 * An incremental text/event-stream parser (WHATWG "event stream interpretation", the parts Herald
 * uses: `id`, `data`, `retry` and comments; `event` names are recorded but Herald sends none).
 */
export class SseParser {
  private buffer = '';
  /** The last event id, as EventSource would send it in Last-Event-ID. */
  lastEventId = '';
  retry: number | undefined;
  comments = 0;

  constructor(
    private readonly onEvent: (event: SseEvent) => void,
    private readonly onComment: () => void = () => undefined,
  ) {}

  push(chunk: string): void {
    this.buffer += chunk.replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      this.dispatch(block);
    }
  }

  private dispatch(block: string): void {
    let data: string[] | undefined;
    let id: string | undefined;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments++;
        this.onComment();
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') (data ??= []).push(value);
      else if (field === 'id' && !value.includes('\0')) id = this.lastEventId = value;
      else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
    }
    if (data !== undefined) this.onEvent({ id, data: data.join('\n') });
  }
}

/** Frames in arrival order, taken one at a time by a predicate, waiting when none matches yet. */
export class FrameInbox<T> {
  readonly all: T[] = [];
  private readonly pending: T[] = [];
  private readonly waiters = new Set<{ match: (f: T) => boolean; resolve: (f: T) => void }>();

  push(frame: T): void {
    this.all.push(frame);
    for (const w of this.waiters) {
      if (w.match(frame)) {
        this.waiters.delete(w);
        w.resolve(frame);
        return;
      }
    }
    this.pending.push(frame);
  }

  next(match: (f: T) => boolean = () => true, timeoutMs = DEFAULT_WAIT_MS): Promise<T> {
    const i = this.pending.findIndex(match);
    if (i >= 0) return Promise.resolve(this.pending.splice(i, 1)[0]);
    let waiter: { match: (f: T) => boolean; resolve: (f: T) => void } | undefined;
    const p = new Promise<T>((resolve) => {
      waiter = { match, resolve };
      this.waiters.add(waiter);
    });
    return withTimeout(
      p,
      timeoutMs,
      `no matching frame (unconsumed: ${JSON.stringify(this.pending).slice(0, 400)})`,
    ).finally(() => {
      if (waiter) this.waiters.delete(waiter);
    });
  }

  /** Takes every unconsumed frame that matches, without waiting. */
  take(match: (f: T) => boolean = () => true): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.pending.length;) {
      if (match(this.pending[i])) out.push(...this.pending.splice(i, 1));
      else i++;
    }
    return out;
  }
}

export type PubFrame = Extract<Push, { push: 'pub' }>;
export const isPub =
  (channel: string) =>
  (f: ServerFrame): f is PubFrame =>
    'push' in f && f.push === 'pub' && f.channel === channel;

/** A raw SSE stream over node:http (HTTP/1.1): every event and its id, the status and headers. */
export class SseStream {
  readonly events: SseEvent[] = [];
  readonly frames = new FrameInbox<ServerFrame>();
  readonly parser: SseParser;
  readonly ended: Promise<void>;
  private readonly commentWaiters = new Set<() => void>();

  private constructor(
    readonly req: ClientRequest,
    readonly res: IncomingMessage,
  ) {
    this.parser = new SseParser(
      (e) => {
        this.events.push(e);
        this.frames.push(JSON.parse(e.data) as ServerFrame);
      },
      () => {
        for (const w of [...this.commentWaiters]) w();
      },
    );
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => this.parser.push(chunk));
    this.ended = new Promise<void>((resolve) => {
      res.once('close', () => resolve());
      res.once('error', () => resolve());
    });
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
    return withTimeout(
      new Promise<SseStream>((resolve, reject) => {
        const req = httpRequest(url, { headers: { accept: 'text/event-stream', ...headers } });
        req.once('response', (res) => resolve(new SseStream(req, res)));
        req.once('error', reject);
        req.end();
      }),
      DEFAULT_WAIT_MS,
      'SSE response did not start',
    );
  }

  get status(): number {
    return this.res.statusCode ?? 0;
  }

  get headers(): IncomingHttpHeaders {
    return this.res.headers;
  }

  /** The first event: the connect event, or the disconnect that refused the session. */
  async connected(): Promise<ConnectPush> {
    const first = await this.frames.next();
    if (!('push' in first) || first.push !== 'connect')
      throw new Error(`not connected: ${JSON.stringify(first)}`);
    return first;
  }

  /** Publications on `channel`, awaited one by one until `count` arrived. */
  async pubs(channel: string, count: number, timeoutMs?: number): Promise<PubFrame['pub'][]> {
    const out: PubFrame['pub'][] = [];
    for (let i = 0; i < count; i++) {
      const f = await this.frames.next(isPub(channel), timeoutMs);
      out.push((f as PubFrame).pub);
    }
    return out;
  }

  /** Resolves at the next comment line (heartbeat). */
  nextComment(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    let w: (() => void) | undefined;
    const p = new Promise<void>((resolve) => {
      w = resolve;
      this.commentWaiters.add(resolve);
    });
    return withTimeout(p, timeoutMs, 'no comment line').finally(() => {
      if (w) this.commentWaiters.delete(w);
    });
  }

  /** Stops reading: the server's writes pile up in kernel buffers, then in its queue. */
  pause(): void {
    this.res.socket.pause();
  }

  resume(): void {
    this.res.socket.resume();
  }

  /** Cuts the connection as a network failure would (no clean end). */
  kill(): Promise<void> {
    this.req.destroy();
    return withTimeout(this.ended, DEFAULT_WAIT_MS, 'SSE stream did not end');
  }
}

export interface PollBody {
  cursor?: string;
  events: ServerFrame[];
}

/** One poll request; `query` holds key, cursor, wait, channels, token as the test needs. */
export async function poll(
  baseUrl: string,
  query: Record<string, string | undefined>,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: PollBody }> {
  const url = new URL('/connection/poll', baseUrl);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as PollBody };
}

/** POSTs newline-separated command frames to the session endpoint; returns the reply frames. */
export async function sessionCommands(
  baseUrl: string,
  session: string,
  credential: string | undefined,
  commands: (Record<string, unknown> | string)[],
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; frames: ServerFrame[]; text: string }> {
  const body = commands.map((c) => (typeof c === 'string' ? c : JSON.stringify(c))).join('\n');
  const res = await fetch(new URL(`/connection/session/${encodeURIComponent(session)}`, baseUrl), {
    method: 'POST',
    headers: {
      'content-type': 'text/plain',
      ...(credential === undefined ? {} : { authorization: `Bearer ${credential}` }),
      ...headers,
    },
    body,
  });
  const text = await res.text();
  const frames =
    res.status === 200
      ? text
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as ServerFrame)
      : [];
  return { status: res.status, headers: res.headers, frames, text };
}
