import type { Command, ConnectPush, ReconnectAdvice, ServerFrame } from '@herald/protocol';
import type {
  EventSourceConstructor,
  EventSourceLike,
  FetchLike,
  WebSocketConstructor,
  WebSocketLike,
} from './platform.js';

export type TransportName = 'websocket' | 'sse' | 'poll';

/** Close code the SDK reports when a transport ended without a protocol code (WebSocket's 1006). */
export const ABNORMAL_CLOSE = 1006;

export interface TransportClose {
  code: number;
  reason: string;
  /** False when the transport never opened (upgrade refused, stream refused): try the next one. */
  opened: boolean;
  /** The server's reconnect advice from the `disconnect` push, when it sent one. */
  advice?: ReconnectAdvice;
}

export interface TransportHandlers {
  /** The transport can carry commands (WebSocket open; HTTP: the `connect` push arrived). */
  onOpen(connect?: ConnectPush): void;
  onFrame(frame: ServerFrame): void;
  onClose(close: TransportClose): void;
}

/**
 * A dumb pipe under the client's session logic (STYLE habit 6): it moves frames and reports how it
 * ended. The HTTP transports run `connect` themselves (docs/protocol.md §11): they open with the
 * token and hand the `connect` push to `onOpen`; WebSocket opens bare and the client sends `connect`.
 */
export interface Transport {
  readonly name: TransportName;
  /** Whether the client must send `connect` itself after `onOpen`. */
  readonly sendsConnect: boolean;
  send(frames: Command[]): void;
  close(): void;
}

export interface TransportContext {
  /** http(s)://host[:port] of the node. */
  baseUrl: string;
  key: string;
  token: string | undefined;
  handlers: TransportHandlers;
  WebSocket?: WebSocketConstructor;
  EventSource?: EventSourceConstructor;
  fetch?: FetchLike;
}

function parseFrames(text: string): ServerFrame[] {
  const out: ServerFrame[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    out.push(JSON.parse(line) as ServerFrame);
  }
  return out;
}

export function openTransport(name: TransportName, ctx: TransportContext): Transport {
  switch (name) {
    case 'websocket':
      return new WebSocketTransport(ctx);
    case 'sse':
      return new SseTransport(ctx);
    case 'poll':
      return new PollTransport(ctx);
  }
}

class WebSocketTransport implements Transport {
  readonly name = 'websocket';
  readonly sendsConnect = true;
  private ws: WebSocketLike | undefined;
  private opened = false;
  private done = false;

  constructor(private readonly ctx: TransportContext) {
    const Ctor = ctx.WebSocket;
    const url = `${ctx.baseUrl.replace(/^http/, 'ws')}/connection/websocket?key=${encodeURIComponent(ctx.key)}`;
    try {
      if (!Ctor) throw new Error('no WebSocket implementation');
      this.ws = new Ctor(url);
    } catch (err) {
      // Blocked or missing WebSocket: reported like a refused upgrade, asynchronously.
      queueMicrotask(() => this.finish({ code: ABNORMAL_CLOSE, reason: String(err), opened: false }));
      return;
    }
    const ws = this.ws;
    ws.onopen = (() => {
      this.opened = true;
      ctx.handlers.onOpen();
    }) as (ev: never) => unknown;
    ws.onmessage = ((ev: { data: unknown }) => {
      if (this.done) return;
      if (typeof ev.data !== 'string') return;
      for (const frame of parseFrames(ev.data)) ctx.handlers.onFrame(frame);
    }) as (ev: never) => unknown;
    ws.onclose = ((ev: { code?: number; reason?: string }) => {
      this.finish({ code: ev.code ?? ABNORMAL_CLOSE, reason: ev.reason ?? '', opened: this.opened });
    }) as (ev: never) => unknown;
    // An error is always followed by close; close carries the code.
    ws.onerror = (() => undefined) as (ev: never) => unknown;
  }

  send(frames: Command[]): void {
    if (this.done || !this.ws) return;
    this.ws.send(frames.map((f) => JSON.stringify(f)).join('\n'));
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    const ws = this.ws;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
      try {
        ws.close(1000);
      } catch {
        // A socket still CONNECTING may throw on close in some implementations; it is dropped anyway.
      }
    }
  }

  private finish(close: TransportClose): void {
    if (this.done) return;
    this.close();
    this.ctx.handlers.onClose(close);
  }
}

/**
 * Shared by SSE and poll: commands go to the session endpoint, one POST at a time so that they
 * reach the session in order; replies come back in the response body.
 */
abstract class HttpTransport implements Transport {
  abstract readonly name: TransportName;
  readonly sendsConnect = false;
  protected session: string | undefined;
  protected client: string | undefined;
  protected done = false;
  protected opened = false;
  private queue: Command[] = [];
  private posting = false;
  protected readonly abort = typeof AbortController === 'function' ? new AbortController() : undefined;

  constructor(protected readonly ctx: TransportContext) {}

  protected get fetchFn(): FetchLike {
    const f = this.ctx.fetch;
    if (!f) throw new Error('no fetch implementation');
    return f;
  }

  protected query(extra: Record<string, string> = {}): string {
    const q = new URLSearchParams({ key: this.ctx.key, ...extra });
    return q.toString();
  }

  /** Handles one pushed frame; returns false once the transport is done. */
  protected handle(frame: ServerFrame): boolean {
    if (this.done) return false;
    if ('push' in frame && frame.push === 'connect') {
      this.session = frame.session;
      this.client = frame.client;
      this.opened = true;
      this.ctx.handlers.onOpen(frame);
      return !this.done;
    }
    if ('push' in frame && frame.push === 'disconnect') {
      this.finish({
        code: frame.code,
        reason: frame.reason,
        opened: this.opened,
        ...(frame.advice ? { advice: frame.advice } : {}),
      });
      return false;
    }
    this.ctx.handlers.onFrame(frame);
    return !this.done;
  }

  send(frames: Command[]): void {
    if (this.done) return;
    this.queue.push(...frames);
    void this.flush();
  }

  private async flush(): Promise<void> {
    if (this.posting || this.done || this.queue.length === 0 || !this.client || !this.session) return;
    this.posting = true;
    const batch = this.queue;
    this.queue = [];
    try {
      const res = await this.fetchFn(
        `${this.ctx.baseUrl}/connection/session/${encodeURIComponent(this.client)}`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${this.session}`, 'content-type': 'text/plain' },
          body: batch.map((f) => JSON.stringify(f)).join('\n'),
          signal: this.abort?.signal,
        },
      );
      const text = await res.text();
      if (!res.ok) throw new Error(`session endpoint answered ${res.status}`);
      for (const frame of parseFrames(text)) if (!this.handle(frame)) return;
    } catch (err) {
      // The session is gone or unreachable: the client reconnects and recovers.
      this.finish({ code: ABNORMAL_CLOSE, reason: String(err), opened: this.opened });
      return;
    } finally {
      this.posting = false;
    }
    void this.flush();
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.abort?.abort();
    this.closeStream();
  }

  protected abstract closeStream(): void;

  protected finish(close: TransportClose): void {
    if (this.done) return;
    this.close();
    this.ctx.handlers.onClose(close);
  }
}

class SseTransport extends HttpTransport {
  readonly name = 'sse';
  private es: EventSourceLike | undefined;

  constructor(ctx: TransportContext) {
    super(ctx);
    const Ctor = ctx.EventSource;
    try {
      if (!Ctor) throw new Error('no EventSource implementation');
      // EventSource cannot set headers: the token goes in the query (docs/protocol.md §11.1).
      this.es = new Ctor(`${ctx.baseUrl}/connection/sse?${this.query({ token: ctx.token ?? '' })}`);
    } catch (err) {
      queueMicrotask(() => this.finish({ code: ABNORMAL_CLOSE, reason: String(err), opened: false }));
      return;
    }
    this.es.onmessage = ((ev: { data: unknown }) => {
      if (typeof ev.data !== 'string') return;
      for (const frame of parseFrames(ev.data)) if (!this.handle(frame)) return;
    }) as (ev: never) => unknown;
    // EventSource would reconnect by itself into a new session; the client owns reconnects
    // (backoff, resubscribe with recovery), so any error ends this transport.
    this.es.onerror = (() => {
      this.finish({ code: ABNORMAL_CLOSE, reason: 'event stream failed', opened: this.opened });
    }) as (ev: never) => unknown;
  }

  protected closeStream(): void {
    if (!this.es) return;
    this.es.onmessage = this.es.onerror = this.es.onopen = null;
    this.es.close();
  }
}

class PollTransport extends HttpTransport {
  readonly name = 'poll';

  constructor(ctx: TransportContext) {
    super(ctx);
    void this.loop();
  }

  private async loop(): Promise<void> {
    let cursor: string | undefined;
    while (!this.done) {
      try {
        const credential = this.session ?? this.ctx.token ?? '';
        const res = await this.fetchFn(
          `${this.ctx.baseUrl}/connection/poll?${this.query(cursor ? { cursor } : {})}`,
          { headers: { authorization: `Bearer ${credential}` }, signal: this.abort?.signal },
        );
        const text = await res.text();
        if (!res.ok) throw new Error(`poll answered ${res.status}`);
        const body = JSON.parse(text) as { cursor: string; events: ServerFrame[] };
        cursor = body.cursor;
        for (const frame of body.events) if (!this.handle(frame)) return;
      } catch (err) {
        this.finish({ code: ABNORMAL_CLOSE, reason: String(err), opened: this.opened });
        return;
      }
    }
  }

  protected closeStream(): void {
    // The abort in close() ends the poll in flight.
  }
}
