import { createHash } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { BUS, Topics, type Bus } from '@herald/bus';
import { NODE_CONFIG, type AppConfig, type NodeConfig } from '@herald/config';
import { USAGE_METER, type UsageMeter } from '@herald/control';
import { HISTORY_STORE, type HistoryStore } from '@herald/history';
import { ErrorCode, HeraldError, type ClientInfo, type PublishResult } from '@herald/protocol';
import { IDEMPOTENCY_STORE, RATE_LIMITER, type IdempotencyStore, type RateLimiter } from '@herald/state';
import { resolveChannel } from './channel-access.js';
import { channelKey, encodeChannelRecord } from './envelope.js';
import { pubFrameJson, withOffset } from './out-frame.js';

export interface PublishRequest {
  channel: string;
  data: unknown;
  /** Set for client publishes: who published. */
  info?: ClientInfo;
  /** Message id of a user-addressed message with push: carried in the publication for `ack`. */
  messageId?: string;
  /** A connection (session id) that must not receive it: Pusher's `socket_id` exclusion. */
  exclude?: string;
}

export interface PublishOptions {
  idempotencyKey?: string;
  /** REST publishes count against the app's publish rate; client publishes have their own bucket. */
  rateLimited?: boolean;
}

export interface BroadcastResult {
  responses: ({ channel: string } & (PublishResult | { error: { code: number; message: string } }))[];
}

/** A bus record ready to send, kept as text so it can be stored with an idempotency key. */
interface BusRecordOut {
  /** App id (for usage metering). */
  a: string;
  key: string;
  value: string;
}

interface Prepared<T> {
  result: T;
  records: BusRecordOut[];
}

/** What an idempotency key remembers; `pending` until the bus took every record. */
interface StoredResult<T> {
  f: string;
  r: T;
  pending?: BusRecordOut[];
}

/**
 * How long a claimed key stays "in progress" if its publisher dies before finishing: short, so a
 * retry after a crash is not refused for the whole window.
 */
const CLAIM_TTL_MS = 30_000;

/**
 * TEST ONLY: with HERALD_TEST_CRASH_AFTER_APPEND=1 on a development node, the process exits right
 * after a publish with an idempotency key appended to history and stored its checkpoint, before
 * the bus and before any answer: the cluster suite's deterministic "api killed between accepting a
 * publish and answering" (test/cluster-failures.e2e-spec.ts). Ignored in production.
 */
const CRASH_AFTER_APPEND_ENV = 'HERALD_TEST_CRASH_AFTER_APPEND';

/**
 * Publishing: validates, assigns the stream offset and appends to history in one atomic step
 * (HistoryStore.append), then puts the ready-to-send frame on the bus. A publish with an
 * idempotency key that was seen within the window returns the first result and publishes nothing.
 */
@Injectable()
export class PublishService {
  constructor(
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    @Inject(BUS) private readonly bus: Bus,
    @Inject(HISTORY_STORE) private readonly history: HistoryStore,
    @Inject(IDEMPOTENCY_STORE) private readonly idempotency: IdempotencyStore,
    @Inject(RATE_LIMITER) private readonly rateLimiter: RateLimiter,
    @Optional() @Inject(USAGE_METER) private readonly usage?: UsageMeter,
  ) {
    this.crashAfterAppend = config.env === 'development' && process.env[CRASH_AFTER_APPEND_ENV] === '1';
  }

  private readonly crashAfterAppend: boolean;

  async publish(app: AppConfig, req: PublishRequest, opts: PublishOptions = {}): Promise<PublishResult> {
    return this.once(app, opts.idempotencyKey, fingerprint('publish', req.channel, req.data), async () => {
      if (opts.rateLimited) await this.checkRate(app, 1);
      const prepared = await this.prepare(app, req);
      return { result: prepared.result, records: [prepared.record] };
    });
  }

  /**
   * One message to many channels; each channel gets its own result (a channel that fails, e.g.
   * unknown or with its history store unavailable, is reported in its entry and the others go on).
   */
  async broadcast(
    app: AppConfig,
    channels: string[],
    data: unknown,
    opts: PublishOptions = {},
  ): Promise<BroadcastResult> {
    return this.once(app, opts.idempotencyKey, fingerprint('broadcast', channels, data), async () => {
      if (opts.rateLimited) await this.checkRate(app, channels.length);
      const responses: BroadcastResult['responses'] = [];
      const records: BusRecordOut[] = [];
      for (const channel of channels) {
        try {
          const prepared = await this.prepare(app, { channel, data });
          responses.push({ channel, ...prepared.result });
          records.push(prepared.record);
        } catch (err) {
          if (!(err instanceof HeraldError)) throw err;
          responses.push({ channel, error: { code: err.code, message: err.message } });
        }
      }
      return { result: { responses }, records };
    });
  }

  /**
   * Phase one of a publish: validates, and for channels with history assigns the offset and
   * appends in one atomic step. Returns the bus record to send in phase two.
   */
  private async prepare(
    app: AppConfig,
    req: PublishRequest,
  ): Promise<{ result: PublishResult; record: BusRecordOut }> {
    const ch = resolveChannel(app, req.channel);
    const dataJson = JSON.stringify(req.data);
    if (dataJson === undefined) throw new HeraldError(ErrorCode.BAD_REQUEST, 'data must be JSON');
    if (Buffer.byteLength(dataJson, 'utf8') > app.limits.maxFrameBytes) {
      throw new HeraldError(ErrorCode.PAYLOAD_TOO_LARGE, `data exceeds ${app.limits.maxFrameBytes} bytes`);
    }
    const idJson = req.messageId === undefined ? '' : `,"id":${JSON.stringify(req.messageId)}`;
    const valueJson =
      req.info === undefined
        ? `{"data":${dataJson}${idJson}}`
        : `{"data":${dataJson}${idJson},"info":${JSON.stringify(req.info)}}`;
    const key = channelKey(app.id, req.channel);
    if (ch.options.historySize > 0) {
      const pos = await this.history.append(app.id, req.channel, valueJson, {
        size: ch.options.historySize,
        ttlMs: ch.options.historyTtlSeconds * 1000,
      });
      const frame = pubFrameJson(req.channel, withOffset(pos.offset, valueJson));
      const header = {
        k: 'pub',
        a: app.id,
        c: req.channel,
        t: Date.now(),
        o: pos.offset,
        e: pos.epoch,
        ...(req.exclude !== undefined ? { x: req.exclude } : {}),
      } as const;
      return {
        result: { offset: pos.offset, epoch: pos.epoch },
        record: { a: app.id, key, value: encodeChannelRecord(header, frame).toString('utf8') },
      };
    }
    const frame = pubFrameJson(req.channel, valueJson);
    const header = {
      k: 'pub',
      a: app.id,
      c: req.channel,
      t: Date.now(),
      ...(req.exclude !== undefined ? { x: req.exclude } : {}),
    } as const;
    return {
      result: {},
      record: { a: app.id, key, value: encodeChannelRecord(header, frame).toString('utf8') },
    };
  }

  /** Phase two: hands the records to the bus (gateways de-duplicate a re-sent record by offset). */
  private async send(records: BusRecordOut[]): Promise<void> {
    for (const r of records) {
      await this.bus.publish(Topics.PUBLICATIONS, r.key, Buffer.from(r.value, 'utf8'));
      this.usage?.published(r.a);
    }
  }

  private async checkRate(app: AppConfig, cost: number): Promise<void> {
    const perSecond = app.limits.publishesPerSecond;
    if (perSecond <= 0) return;
    const decision = await this.rateLimiter.consume(
      app.id,
      'publish',
      { perSecond, burst: perSecond * 2 },
      cost,
    );
    if (!decision.allowed) {
      throw new HeraldError(ErrorCode.RATE_LIMITED, 'app publish rate exceeded', {
        retryAfterMs: decision.retryAfterMs,
      });
    }
  }

  /**
   * Runs a publish at most once per (app, key) within the idempotency window, in two phases:
   * `prepare` (validation, offsets, history) and sending its records to the bus. The stored entry
   * carries a fingerprint of the request, so a key reused for a different request is refused
   * rather than answered with a foreign result; and once offsets are assigned it records the bus
   * records still to send, so a retry after a failed send (503) re-sends those same records
   * instead of appending the message to history a second time.
   */
  private async once<T>(
    app: AppConfig,
    key: string | undefined,
    print: string,
    prepare: () => Promise<Prepared<T>>,
  ): Promise<T> {
    if (key === undefined) {
      const prepared = await prepare();
      await this.send(prepared.records);
      return prepared.result;
    }
    if (key.length === 0 || key.length > 255) {
      throw new HeraldError(ErrorCode.BAD_REQUEST, 'idempotency key must be 1-255 characters');
    }
    const ttlMs = this.config.idempotency.windowSeconds * 1000;
    const claim = await this.idempotency.claim(app.id, key, CLAIM_TTL_MS);
    if (claim.status === 'pending') throw new HeraldError(ErrorCode.IDEMPOTENCY_CONFLICT);
    if (claim.status === 'done') {
      const stored = JSON.parse(claim.result) as StoredResult<T>;
      if (stored.f !== print) throw new HeraldError(ErrorCode.IDEMPOTENCY_MISMATCH);
      if (stored.pending) {
        await this.send(stored.pending);
        await this.idempotency.complete(app.id, key, JSON.stringify({ f: print, r: stored.r }), ttlMs);
      }
      return stored.r;
    }
    let prepared: Prepared<T>;
    try {
      prepared = await prepare();
    } catch (err) {
      await this.idempotency.release(app.id, key);
      throw err;
    }
    const checkpoint: StoredResult<T> = { f: print, r: prepared.result, pending: prepared.records };
    await this.idempotency.complete(app.id, key, JSON.stringify(checkpoint), ttlMs);
    if (this.crashAfterAppend) process.exit(70);
    await this.send(prepared.records);
    await this.idempotency.complete(app.id, key, JSON.stringify({ f: print, r: prepared.result }), ttlMs);
    return prepared.result;
  }
}

/** A digest of what a request asks for, to tell a true retry from a reused idempotency key. */
function fingerprint(op: string, target: string | string[], data: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([op, target, data ?? null]))
    .digest('base64url')
    .slice(0, 22);
}
