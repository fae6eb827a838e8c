import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { BUS, Topics, type Bus } from '@herald/bus';
import { NODE_CONFIG, type AppConfig, type NodeConfig } from '@herald/config';
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
}

export interface PublishOptions {
  idempotencyKey?: string;
  /** REST publishes count against the app's publish rate; client publishes have their own bucket. */
  rateLimited?: boolean;
}

export interface BroadcastResult {
  responses: ({ channel: string } & (PublishResult | { error: { code: number; message: string } }))[];
}

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
  ) {}

  async publish(app: AppConfig, req: PublishRequest, opts: PublishOptions = {}): Promise<PublishResult> {
    return this.once(app, opts.idempotencyKey, fingerprint('publish', req.channel, req.data), async () => {
      if (opts.rateLimited) await this.checkRate(app, 1);
      return this.publishOne(app, req);
    });
  }

  /** One message to many channels; each channel gets its own result (partial failure is reported). */
  async broadcast(
    app: AppConfig,
    channels: string[],
    data: unknown,
    opts: PublishOptions = {},
  ): Promise<BroadcastResult> {
    return this.once(app, opts.idempotencyKey, fingerprint('broadcast', channels, data), async () => {
      if (opts.rateLimited) await this.checkRate(app, channels.length);
      const responses: BroadcastResult['responses'] = [];
      for (const channel of channels) {
        try {
          responses.push({ channel, ...(await this.publishOne(app, { channel, data })) });
        } catch (err) {
          if (!(err instanceof HeraldError)) throw err;
          responses.push({ channel, error: { code: err.code, message: err.message } });
        }
      }
      return { responses };
    });
  }

  private async publishOne(app: AppConfig, req: PublishRequest): Promise<PublishResult> {
    const ch = resolveChannel(app, req.channel);
    const dataJson = JSON.stringify(req.data);
    if (dataJson === undefined) throw new HeraldError(ErrorCode.BAD_REQUEST, 'data must be JSON');
    if (Buffer.byteLength(dataJson, 'utf8') > app.limits.maxFrameBytes) {
      throw new HeraldError(ErrorCode.PAYLOAD_TOO_LARGE, `data exceeds ${app.limits.maxFrameBytes} bytes`);
    }
    const valueJson =
      req.info === undefined
        ? `{"data":${dataJson}}`
        : `{"data":${dataJson},"info":${JSON.stringify(req.info)}}`;
    const key = channelKey(app.id, req.channel);
    if (ch.options.historySize > 0) {
      const pos = await this.history.append(app.id, req.channel, valueJson, {
        size: ch.options.historySize,
        ttlMs: ch.options.historyTtlSeconds * 1000,
      });
      const frame = pubFrameJson(req.channel, withOffset(pos.offset, valueJson));
      await this.bus.publish(
        Topics.PUBLICATIONS,
        key,
        encodeChannelRecord({ k: 'pub', a: app.id, c: req.channel, o: pos.offset, e: pos.epoch }, frame),
      );
      return { offset: pos.offset, epoch: pos.epoch };
    }
    const frame = pubFrameJson(req.channel, valueJson);
    await this.bus.publish(
      Topics.PUBLICATIONS,
      key,
      encodeChannelRecord({ k: 'pub', a: app.id, c: req.channel }, frame),
    );
    return {};
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
   * Runs `work` at most once per (app, key) within the window. The stored entry carries a
   * fingerprint of the request, so a key reused for a different request (another channel, other
   * data, a broadcast instead of a publish) is refused rather than answered with a foreign result.
   */
  private async once<T>(
    app: AppConfig,
    key: string | undefined,
    print: string,
    work: () => Promise<T>,
  ): Promise<T> {
    if (key === undefined) return work();
    if (key.length === 0 || key.length > 255) {
      throw new HeraldError(ErrorCode.BAD_REQUEST, 'idempotency key must be 1-255 characters');
    }
    const ttlMs = this.config.idempotency.windowSeconds * 1000;
    const claim = await this.idempotency.claim(app.id, key, ttlMs);
    if (claim.status === 'done') {
      const stored = JSON.parse(claim.result) as { f: string; r: T };
      if (stored.f !== print) throw new HeraldError(ErrorCode.IDEMPOTENCY_MISMATCH);
      return stored.r;
    }
    if (claim.status === 'pending') throw new HeraldError(ErrorCode.IDEMPOTENCY_CONFLICT);
    let result: T;
    try {
      result = await work();
    } catch (err) {
      await this.idempotency.release(app.id, key);
      throw err;
    }
    await this.idempotency.complete(app.id, key, JSON.stringify({ f: print, r: result }), ttlMs);
    return result;
  }
}

/** A digest of what a request asks for, to tell a true retry from a reused idempotency key. */
function fingerprint(op: string, target: string | string[], data: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([op, target, data ?? null]))
    .digest('base64url')
    .slice(0, 22);
}
