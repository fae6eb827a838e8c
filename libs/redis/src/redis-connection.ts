import { ErrorCode, HeraldError } from '@herald/protocol';
import { Redis, ReplyError } from 'ioredis';
import { Tally, tallyCounter } from '@herald/observability';

/** Redis failures of this process: `connection` (socket errors, each reconnect attempt) and `command` (calls that failed). */
const redisErrors = new Tally<'connection' | 'command'>(['connection', 'command']);
tallyCounter(
  'herald_redis_errors_total',
  'Redis errors of this process, by kind (connection, command).',
  'kind',
  redisErrors,
);

/** How to reach Redis; the `redis` section of the node config maps onto this. */
export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. */
  url: string;
  /** Prepended to every key Herald writes, so several deployments can share one Redis; default 'herald:'. */
  keyPrefix?: string;
  /** Give up a connection attempt after this long (it is retried with backoff); default 5000 ms. */
  connectTimeoutMs?: number;
  /**
   * Every command (and the wait for a connection before it) fails after this long with a
   * RedisUnavailableError; default 2000 ms. This is what bounds the API's answer while Redis is down.
   */
  commandTimeoutMs?: number;
  /** Connection errors, for logging (they also surface as RedisUnavailableError on the calls). */
  onError?: (err: Error) => void;
}

export const DEFAULT_REDIS_KEY_PREFIX = 'herald:';
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_COMMAND_TIMEOUT_MS = 2000;

/**
 * Redis cannot take the request now: not connected, a command timed out, the server is loading or
 * read-only. Retryable: the API maps it to 503 UNAVAILABLE with Retry-After. Whether a timed-out
 * write was applied is unknown (as with any network call), which is why publish is idempotent.
 */
/**
 * A HeraldError with the catalogue's UNAVAILABLE code, so every edge answers it the same way:
 * REST with 503 and Retry-After, protocol replies with code 116 (temporary).
 */
export class RedisUnavailableError extends HeraldError {
  override readonly name = 'RedisUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.UNAVAILABLE, `redis unavailable: ${message}`, { retryAfterMs: 1000 });
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** True for errors that mean "Redis is unavailable, retry later" (see RedisUnavailableError). */
export function isRedisUnavailable(err: unknown): err is RedisUnavailableError {
  return err instanceof RedisUnavailableError;
}

/** Replies that mean the server cannot serve now, rather than a bug in the command. */
const UNAVAILABLE_REPLIES = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|OOM|NOREPLICAS)\b/;

const ReplyErrorClass = ReplyError as new (...args: never[]) => Error;

/**
 * Maps an ioredis failure to RedisUnavailableError unless it is a real error reply of the server
 * (wrong type, a script error): those are bugs and stay as they are.
 */
export function toRedisError(err: unknown): Error {
  if (err instanceof RedisUnavailableError) return err;
  if (err instanceof ReplyErrorClass && !UNAVAILABLE_REPLIES.test(err.message)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new RedisUnavailableError(message, { cause: err });
}

/**
 * One ioredis client configured to fail fast instead of queueing: no offline queue (a command issued
 * while disconnected would otherwise wait unboundedly and run minutes later, after its caller was
 * told it failed), no resending of in-flight commands after a reconnect, a timeout on every command.
 * So while Redis is down every call rejects within `commandTimeoutMs` and nothing accumulates in
 * memory; ioredis keeps reconnecting with backoff, and calls succeed again once Redis is back.
 */
export class RedisConnection {
  readonly client: Redis;
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  private lastError: Error | undefined;
  private closed = false;
  private readySignal: Promise<void> | undefined;

  constructor(options: RedisConnectionOptions) {
    this.keyPrefix = options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX;
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.client = new Redis(options.url, {
      connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      commandTimeout: this.commandTimeoutMs,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      // 0: commands in flight when the connection drops are rejected at once (not retried later).
      maxRetriesPerRequest: 0,
      // Reconnect forever with capped backoff; each call fails fast meanwhile.
      retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
      lazyConnect: false,
      // How long a closing socket may linger before it is destroyed: bounded like everything else.
      disconnectTimeout: this.commandTimeoutMs,
    });
    this.client.on('error', (err: Error) => {
      redisErrors.add('connection');
      this.lastError = err;
      options.onError?.(err);
    });
  }

  /** The client once it is connected; waits at most `commandTimeoutMs` for a (re)connection. */
  async ready(): Promise<Redis> {
    const client = this.client;
    if (client.status === 'ready') return client;
    if (this.closed || client.status === 'end') throw new RedisUnavailableError('connection closed');
    // One 'ready' listener however many callers wait; each caller bounds its own wait.
    this.readySignal ??= new Promise<void>((resolve) =>
      client.once('ready', () => {
        this.readySignal = undefined;
        resolve();
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const why = this.lastError ? `: ${this.lastError.message}` : '';
        reject(new RedisUnavailableError(`not connected within ${this.commandTimeoutMs} ms${why}`));
      }, this.commandTimeoutMs);
    });
    try {
      await Promise.race([this.readySignal, timeout]);
      return client;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs `fn` on the connected client, mapping connection failures to RedisUnavailableError. */
  async run<T>(fn: (client: Redis) => Promise<T>): Promise<T> {
    try {
      return await fn(await this.ready());
    } catch (err) {
      redisErrors.add('command');
      throw toRedisError(err);
    }
  }

  /** Closes the connection (QUIT, or a hard disconnect if Redis does not answer in time). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.client.status === 'ready') {
      try {
        await this.client.quit();
        return;
      } catch {
        // Fall through to disconnect: Redis went away while quitting.
      }
    }
    this.client.disconnect();
  }
}

interface SharedEntry {
  connection: RedisConnection;
  holders: number;
}

const shared = new Map<string, SharedEntry>();

/** A hold on a process-wide shared connection; `release` closes it when the last holder lets go. */
export interface RedisConnectionLease {
  readonly connection: RedisConnection;
  release(): Promise<void>;
}

/**
 * One connection per process and options, shared by the Redis drivers of every module (presence,
 * history, state): ioredis pipelines concurrent commands over one socket, so more connections buy
 * nothing and cost Redis client slots. Released by the modules on shutdown.
 */
export function acquireRedisConnection(options: RedisConnectionOptions): RedisConnectionLease {
  const key = JSON.stringify([
    options.url,
    options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX,
    options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
  ]);
  let entry = shared.get(key);
  if (!entry) {
    entry = { connection: new RedisConnection(options), holders: 0 };
    shared.set(key, entry);
  }
  entry.holders++;
  const held = entry;
  let released = false;
  return {
    connection: held.connection,
    async release() {
      if (released) return;
      released = true;
      held.holders--;
      if (held.holders === 0) {
        if (shared.get(key) === held) shared.delete(key);
        await held.connection.close();
      }
    },
  };
}
