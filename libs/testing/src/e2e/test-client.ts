import { WebSocket, type RawData } from 'ws';
import type {
  CommandResultMap,
  ConnectResult,
  ErrorBody,
  Push,
  RequestCommand,
  ServerFrame,
} from '@herald/protocol';

/** How long any wait in the e2e harness may take before it fails the test (never a sleep). */
export const DEFAULT_WAIT_MS = 5000;

/** A command without its `id`: the client numbers commands itself. */
export type CommandInput = RequestCommand extends infer C
  ? C extends { id: number }
    ? Omit<C, 'id'>
    : never
  : never;
type ResultOf<C extends CommandInput> = C['cmd'] extends keyof CommandResultMap
  ? CommandResultMap[C['cmd']]
  : never;

/** A reply carrying `error` instead of `result`; `body` is the protocol error as sent. */
export class ReplyError extends Error {
  constructor(
    readonly cmd: string,
    readonly body: ErrorBody,
  ) {
    super(`${cmd} failed: ${body.code} ${body.message}`);
    this.name = 'ReplyError';
  }
  get code(): number {
    return this.body.code;
  }
}

export interface CloseEvent {
  code: number;
  reason: string;
}

export interface OpenOptions {
  /** Origin header, as a browser sends it. */
  origin?: string;
  /** Do not answer server pings (to exercise the pong timeout). */
  ignorePings?: boolean;
}

interface Waiter<T> {
  match: (value: T) => boolean;
  resolve: (value: T) => void;
}

/**
 * A native-protocol v1 client over `ws`, for end-to-end tests: it numbers commands, pairs replies
 * with their command, answers pings, keeps every push it has not handed out yet, and exposes the
 * close code. Every wait is event-driven with a bounded deadline, so a test never sleeps.
 */
export class TestClient {
  /** Every frame received, in order (replies and pushes). */
  readonly frames: ServerFrame[] = [];
  /** Pushes received and not yet taken by `nextPush`/`takePushes` (pings excluded). */
  private readonly inbox: Push[] = [];
  private readonly pushWaiters = new Set<Waiter<Push>>();
  private readonly pending = new Map<
    number,
    { cmd: string; resolve: (r: unknown) => void; reject: (e: Error) => void }
  >();
  private nextId = 1;
  /** The result of a successful `connect` (client id, user, server-side subscriptions). */
  connection: ConnectResult | undefined;
  /** Protocol violations by the server (e.g. a binary frame); tests may assert it stays empty. */
  readonly violations: string[] = [];
  private closeEvent: CloseEvent | undefined;
  /** Resolves with the close code and reason when the connection closes, whoever closed it. */
  readonly closed: Promise<CloseEvent>;

  private constructor(
    readonly ws: WebSocket,
    private readonly options: OpenOptions,
  ) {
    this.closed = new Promise<CloseEvent>((resolve) => {
      ws.on('close', (code: number, reason: Buffer) => {
        this.closeEvent = { code, reason: reason.toString('utf8') };
        for (const p of this.pending.values()) {
          p.reject(
            new Error(`${p.cmd}: connection closed (${code} ${this.closeEvent.reason}) before the reply`),
          );
        }
        this.pending.clear();
        resolve(this.closeEvent);
      });
    });
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    // Errors (e.g. ECONNRESET after the server terminated a socket) end in 'close' too.
    ws.on('error', () => undefined);
  }

  /** Opens a WebSocket and resolves once it is open (the server may still close it right after). */
  static open(url: string, options: OpenOptions = {}): Promise<TestClient> {
    const ws = new WebSocket(url, options.origin === undefined ? {} : { origin: options.origin });
    const client = new TestClient(ws, options);
    return new Promise<TestClient>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      ws.once('error', onError);
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)),
      );
      ws.once('open', () => {
        ws.off('error', onError);
        resolve(client);
      });
    });
  }

  get isClosed(): boolean {
    return this.closeEvent !== undefined;
  }

  /** Sends one command and resolves with its result, or rejects with a ReplyError. */
  request<C extends CommandInput>(command: C): Promise<ResultOf<C>> {
    const id = this.nextId++;
    const promise = new Promise<ResultOf<C>>((resolve, reject) => {
      this.pending.set(id, { cmd: command.cmd, resolve: resolve as (r: unknown) => void, reject });
    });
    this.sendRaw(JSON.stringify({ id, ...command }));
    if (command.cmd === 'connect') {
      void promise.then(
        (r) => (this.connection = r as ConnectResult),
        () => undefined,
      );
    }
    return promise;
  }

  /**
   * Sends several commands in ONE WebSocket message (newline-separated frames) and resolves with
   * every outcome, in command order: the result, or the ReplyError.
   */
  requestMany(commands: CommandInput[]): Promise<(unknown | ReplyError)[]> {
    const lines: string[] = [];
    const promises = commands.map((command) => {
      const id = this.nextId++;
      lines.push(JSON.stringify({ id, ...command }));
      return new Promise<unknown>((resolve, reject) => {
        this.pending.set(id, { cmd: command.cmd, resolve, reject });
      }).catch((err: unknown) => (err instanceof ReplyError ? err : Promise.reject(err)));
    });
    this.sendRaw(lines.join('\n'));
    return Promise.all(promises);
  }

  /** Sends a reply-less frame, or arbitrary text/bytes (malformed input tests). */
  sendRaw(data: string | Buffer, opts: { binary?: boolean } = {}): void {
    this.ws.send(data, { binary: opts.binary ?? false });
  }

  /** Reserves an id for a hand-written frame, so its reply can be awaited with `reply(id)`. */
  reserveId(): number {
    return this.nextId++;
  }

  /** Resolves with the raw reply (result or error) to a hand-written frame with this id. */
  reply(id: number): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { cmd: `#${id}`, resolve, reject });
    }).catch((err: unknown) => (err instanceof ReplyError ? err : Promise.reject(err)));
  }

  /**
   * Resolves with the first push (oldest first) that matches and has not been taken yet, waiting
   * for it if needed; rejects after `timeoutMs` with the pushes seen, to make the failure readable.
   */
  nextPush<P extends Push = Push>(
    match: (push: Push) => boolean = () => true,
    { timeoutMs = DEFAULT_WAIT_MS }: { timeoutMs?: number } = {},
  ): Promise<P> {
    const index = this.inbox.findIndex(match);
    if (index >= 0) return Promise.resolve(this.inbox.splice(index, 1)[0] as P);
    return new Promise<P>((resolve, reject) => {
      const waiter: Waiter<Push> = {
        match,
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p as P);
        },
      };
      const timer = setTimeout(() => {
        this.pushWaiters.delete(waiter);
        reject(
          new Error(
            `nextPush: no matching push within ${timeoutMs} ms; unconsumed: ${JSON.stringify(this.inbox).slice(0, 500)}` +
              (this.closeEvent ? `; connection closed ${this.closeEvent.code}` : ''),
          ),
        );
      }, timeoutMs);
      this.pushWaiters.add(waiter);
    });
  }

  /** Publications on `channel`, awaited one by one until `count` arrived (in arrival order). */
  async nextPubs(channel: string, count: number, opts: { timeoutMs?: number } = {}): Promise<PubOf[]> {
    const out: PubOf[] = [];
    for (let i = 0; i < count; i++) {
      const push = await this.nextPush((p) => p.push === 'pub' && p.channel === channel, opts);
      if (push.push === 'pub') out.push(push.pub);
    }
    return out;
  }

  /**
   * Publications on `channel` up to a sentinel: `publishSentinel` publishes a unique marker after
   * whatever the test published; once the marker arrives, everything published before it has
   * arrived too (one channel is delivered in order), so the returned list is complete. This is how
   * a test proves that something was NOT delivered without sleeping.
   */
  async pubsBeforeSentinel(
    channel: string,
    publishSentinel: (marker: string) => Promise<unknown>,
    opts: { timeoutMs?: number } = {},
  ): Promise<PubOf[]> {
    const marker = `sentinel-${Math.random().toString(36).slice(2)}`;
    await publishSentinel(marker);
    const out: PubOf[] = [];
    for (;;) {
      const [pub] = await this.nextPubs(channel, 1, opts);
      if (pub.data === marker) return out;
      out.push(pub);
    }
  }

  /** Takes (removes) every unconsumed push that matches, without waiting. */
  takePushes(match: (push: Push) => boolean = () => true): Push[] {
    const taken: Push[] = [];
    for (let i = 0; i < this.inbox.length;) {
      if (match(this.inbox[i])) taken.push(...this.inbox.splice(i, 1));
      else i++;
    }
    return taken;
  }

  /** Resolves with the close event, rejecting if the connection is still open after `timeoutMs`. */
  waitClosed({ timeoutMs = DEFAULT_WAIT_MS }: { timeoutMs?: number } = {}): Promise<CloseEvent> {
    return withTimeout(this.closed, timeoutMs, 'connection did not close');
  }

  /** Closes from the client side and waits for the close handshake. */
  async close(): Promise<CloseEvent> {
    if (!this.closeEvent) {
      if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN)
        this.ws.close(1000);
    }
    return this.waitClosed();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      // The native protocol is text only; keep the evidence for the test instead of throwing here.
      this.violations.push('binary frame from the server');
      return;
    }
    const text = rawText(data);
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(line) as ServerFrame;
      } catch {
        this.violations.push(`invalid JSON from the server: ${line.slice(0, 200)}`);
        continue;
      }
      this.frames.push(frame);
      if ('id' in frame) {
        const p = this.pending.get(frame.id);
        if (!p) continue;
        this.pending.delete(frame.id);
        if ('error' in frame) p.reject(new ReplyError(p.cmd, frame.error));
        else p.resolve(frame.result);
        continue;
      }
      if (frame.push === 'ping') {
        if (!this.options.ignorePings && this.ws.readyState === WebSocket.OPEN)
          this.sendRaw('{"cmd":"pong"}');
        continue;
      }
      this.deliver(frame);
    }
  }

  private deliver(push: Push): void {
    for (const w of this.pushWaiters) {
      if (w.match(push)) {
        this.pushWaiters.delete(w);
        w.resolve(push);
        return;
      }
    }
    this.inbox.push(push);
  }
}

export type PubOf = Extract<Push, { push: 'pub' }>['pub'];

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** Races a promise against a deadline; the timer never outlives the race. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
