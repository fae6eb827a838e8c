import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Topics, type Bus, type BusSubscription } from '@herald/bus';
import type { WebhooksConfig } from '@herald/config';
import { decodeEventRecord, endpointWants, eventKey, type WebhookEvent } from './events.js';
import type { WebhookEndpoint, WebhookEndpointSource } from './endpoints.js';
import type { SendOutcome, WebhookSender } from './sender.js';
import { isPusherEvent, pusherBody } from './pusher-format.js';
import { pusherHeaders, standardHeaders } from './signing.js';
import type { Scheduler } from './timers.js';
import type { Batch, DeadLetter, WebhookStore } from './webhook-store.js';

export const WEBHOOK_CONSUMER_GROUP = 'herald.webhooks';

/**
 * Dead-letter topic (DESIGN.md): every event the dispatcher gives up on is also published here,
 * keyed like `herald.events`, for operators' tooling. The WebhookStore's dead letters stay the
 * source of truth for the admin API's list and replay; publishing is best effort.
 */
export const WEBHOOK_DLQ_TOPIC = 'herald.webhooks.dlq';

export type DeliveryOutcome = 'delivered' | 'retried' | 'dead_lettered' | 'gone' | 'blocked';

const zero = (): Record<DeliveryOutcome, number> => ({
  delivered: 0,
  retried: 0,
  dead_lettered: 0,
  gone: 0,
  blocked: 0,
});

/** Delivery outcomes since start, in total and per app; read by WebhookMetrics. */
export class DeliveryCounters {
  readonly byOutcome: Record<DeliveryOutcome, number> = zero();
  readonly byApp = new Map<string, Record<DeliveryOutcome, number>>();

  add(appId: string, outcome: DeliveryOutcome, n: number): void {
    this.byOutcome[outcome] += n;
    let app = this.byApp.get(appId);
    if (!app) this.byApp.set(appId, (app = zero()));
    app[outcome] += n;
  }
}

export interface DispatcherDeps {
  bus: Bus;
  store: WebhookStore;
  endpoints: WebhookEndpointSource;
  sender: WebhookSender;
  scheduler: Scheduler;
  config: WebhooksConfig;
  counters?: DeliveryCounters;
  /** Uniform in [0, 1); injected for deterministic backoff in tests. */
  random?: () => number;
  /** Identifies this instance's leases. */
  owner?: string;
  /** A lease not renewed for this long is taken over by another instance (default: timeout x 3). */
  leaseMs?: number;
  /**
   * Shared stores (several replicas): look for due work at least this often, since work queued or
   * released by another replica (a replay through the admin API, the lease of a dead replica) does
   * not wake this one. Unset: only this instance's own events and timers wake it.
   */
  pollMs?: number;
}

/**
 * The webhook dispatcher: consumes `herald.events` as the `herald.webhooks` consumer group,
 * queues each event for every matching endpoint in the WebhookStore (the bus record is committed
 * once that is done), and delivers each endpoint's queue in batches, one batch in flight per
 * endpoint, at most `maxConcurrentDeliveries` overall and `maxConcurrentDeliveriesPerApp` for one
 * app's endpoints (round-robin across apps when slots are scarce). Failures are retried with exponential
 * backoff and full jitter (at least what Retry-After asks), for `retentionHours`; then the batch
 * is dead-lettered. 410 Gone disables the endpoint and dead-letters its queue.
 */
export class WebhookDispatcher {
  private readonly log = new Logger('WebhookDispatcher');
  private subscription?: BusSubscription;
  private readonly inflight = new Map<string, { done: Promise<void>; abort: AbortController }>();
  private readonly busyEndpoints = new Set<string>();
  private readonly inflightPerApp = new Map<string, number>();
  private pumping = false;
  private again = false;
  private stopped = false;
  private cancelTimer?: () => void;
  private cancelPoll?: () => void;
  private timerAt?: number;
  readonly owner: string;
  readonly counters: DeliveryCounters;
  private readonly random: () => number;
  private readonly leaseMs: number;

  constructor(private readonly d: DispatcherDeps) {
    this.owner = d.owner ?? `dispatcher-${randomUUID()}`;
    this.counters = d.counters ?? new DeliveryCounters();
    this.random = d.random ?? Math.random;
    this.leaseMs = d.leaseMs ?? d.config.requestTimeoutMilliseconds * 3;
  }

  async start(): Promise<void> {
    this.subscription = await this.d.bus.subscribe(
      Topics.EVENTS,
      { group: WEBHOOK_CONSUMER_GROUP },
      async (r) => {
        const record = decodeEventRecord(r.value);
        if (!record) {
          this.log.warn({ msg: 'undecodable event record skipped', key: r.key });
          return;
        }
        await this.accept(record.app, record.event);
      },
    );
    this.kick();
    this.poll();
  }

  private poll(): void {
    const every = this.d.pollMs;
    if (every === undefined || this.stopped) return;
    this.cancelPoll = this.d.scheduler.setTimer(() => {
      this.kick();
      this.poll();
    }, every);
  }

  /** Queues one event for the app's matching endpoints (also the entry point for other producers). */
  async accept(appId: string, event: WebhookEvent): Promise<void> {
    const now = this.d.scheduler.now();
    const bytes = Buffer.byteLength(JSON.stringify(event));
    for (const ep of await this.d.endpoints.endpoints(appId)) {
      if (!ep.enabled || !endpointWants(ep, event)) continue;
      if (ep.format === 'pusher' && !isPusherEvent(event.name)) continue;
      if (await this.d.store.isDisabled(appId, ep.id)) continue;
      const queued = await this.d.store.enqueue(
        { appId, endpointId: ep.id, event, queuedAt: now, bytes },
        this.d.config.maxQueuedPerEndpoint,
      );
      if (queued === 'overflow') {
        this.counters.add(appId, 'dead_lettered', 1);
        await this.publishDead([
          { appId, endpointId: ep.id, event, reason: 'overflow', attempts: 0, deadAt: now },
        ]);
      }
    }
    this.kick();
  }

  /** Looks for due work now (after an enqueue, a completed delivery, a timer, a replay). */
  kick(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.pump()
      .catch((err: unknown) => this.log.error({ msg: 'webhook pump failed', err: String(err) }))
      .finally(() => {
        this.pumping = false;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async pump(): Promise<void> {
    const now = this.d.scheduler.now();
    const free = this.d.config.maxConcurrentDeliveries - this.inflight.size;
    if (free > 0) {
      const batches = await this.d.store.claim(
        this.owner,
        now,
        this.leaseMs,
        free,
        {
          maxEvents: this.d.config.batchSize,
          maxBytes: this.d.config.batchMaxBytes,
          newId: () => `msg_${randomUUID()}`,
        },
        // Fairness: one app's endpoints hold at most `maxConcurrentDeliveriesPerApp` slots, so an
        // app with many slow endpoints cannot starve the others of the node's slots.
        { perApp: this.d.config.maxConcurrentDeliveriesPerApp, inflight: this.inflightPerApp },
      );
      // A lease of ours that ran out while our own request is still in flight (only a clock that
      // jumps, as in tests, gets there: requests are bounded by the timeout, leases are 3x that)
      // is re-claimed by us: never start a second request to the same endpoint.
      for (const b of batches)
        if (!this.busyEndpoints.has(`${b.appId}\u0000${b.endpointId}`)) this.startDelivery(b);
    }
    const next = await this.d.store.nextDueAt(this.d.scheduler.now());
    if (next !== undefined && !this.stopped) this.wakeAt(Math.max(next, this.d.scheduler.now() + 1));
  }

  private wakeAt(at: number): void {
    if (this.timerAt !== undefined && this.timerAt <= at) return;
    this.cancelTimer?.();
    this.timerAt = at;
    this.cancelTimer = this.d.scheduler.setTimer(() => {
      this.timerAt = undefined;
      this.cancelTimer = undefined;
      this.kick();
    }, at - this.d.scheduler.now());
  }

  private startDelivery(batch: Batch): void {
    const abort = new AbortController();
    const key = `${batch.appId}\u0000${batch.endpointId}`;
    this.busyEndpoints.add(key);
    this.inflightPerApp.set(batch.appId, (this.inflightPerApp.get(batch.appId) ?? 0) + 1);
    const done = this.deliver(batch, abort.signal)
      .catch((err: unknown) => this.log.error({ msg: 'delivery failed', app: batch.appId, err: String(err) }))
      .finally(() => {
        this.inflight.delete(batch.id);
        this.busyEndpoints.delete(key);
        const left = (this.inflightPerApp.get(batch.appId) ?? 1) - 1;
        if (left > 0) this.inflightPerApp.set(batch.appId, left);
        else this.inflightPerApp.delete(batch.appId);
        this.kick();
      });
    this.inflight.set(batch.id, { done, abort });
  }

  private async deliver(batch: Batch, signal: AbortSignal): Promise<void> {
    const { store, scheduler, config } = this.d;
    const endpoint = (await this.d.endpoints.endpoints(batch.appId)).find((e) => e.id === batch.endpointId);
    if (!endpoint || !endpoint.enabled || (await store.isDisabled(batch.appId, batch.endpointId))) {
      const reason = endpoint ? 'endpoint_disabled' : 'endpoint_removed';
      await this.giveUp(batch, reason, scheduler.now(), 'dead_lettered', true);
      return;
    }
    const timeMs = batch.events[0]?.queuedAt ?? scheduler.now();
    const events = batch.events.map((e) => e.event);
    const body =
      endpoint.format === 'pusher' ? pusherBody(timeMs, events) : JSON.stringify({ time_ms: timeMs, events });
    const outcome = await this.d.sender.send({
      url: endpoint.url,
      headers: this.sign(endpoint, batch.id, body),
      body,
      timeoutMs: config.requestTimeoutMilliseconds,
      signal,
    });
    if (signal.aborted || this.stopped) return; // killed: the lease expires and another instance resends.
    batch.attempts++;
    const now = scheduler.now();
    if (outcome.kind === 'response' && outcome.status >= 200 && outcome.status < 300) {
      await store.complete(batch, this.owner);
      this.counters.add(batch.appId, 'delivered', batch.events.length);
      return;
    }
    if (outcome.kind === 'response' && outcome.status === 410) {
      // The receiver says the endpoint is gone for good: stop sending to it.
      await store.disableEndpoint(batch.appId, batch.endpointId);
      batch.lastError = 'HTTP 410';
      await this.giveUp(batch, 'gone', now, 'gone', true);
      this.log.warn({
        msg: 'webhook endpoint answered 410 and was disabled',
        app: batch.appId,
        endpoint: batch.endpointId,
      });
      return;
    }
    if (outcome.kind === 'blocked') {
      // A tenant URL that resolves to a refused address is a configuration problem, not an outage.
      batch.lastError = outcome.error;
      await this.giveUp(batch, 'blocked_address', now, 'blocked');
      return;
    }
    const error = describe(outcome);
    const deadline = (batch.events[0]?.queuedAt ?? now) + config.retentionHours * 3_600_000;
    if (now >= deadline) {
      batch.lastError = error;
      await this.giveUp(batch, 'retention_exceeded', now, 'dead_lettered');
      return;
    }
    const delay = this.backoff(
      batch.attempts,
      outcome.kind === 'response' ? outcome.retryAfterMs : undefined,
    );
    await store.retry(batch, this.owner, Math.min(now + delay, deadline), error);
    this.counters.add(batch.appId, 'retried', 1);
  }

  /** Dead-letters the batch (and with `wholeEndpoint` the queue behind it), counts and publishes it. */
  private async giveUp(
    batch: Batch,
    reason: string,
    now: number,
    outcome: DeliveryOutcome,
    wholeEndpoint = false,
  ): Promise<void> {
    const moved = await this.d.store.deadLetter(batch, this.owner, reason, now, wholeEndpoint);
    if (moved.length > 0) this.counters.add(batch.appId, outcome, moved.length);
    await this.publishDead(moved);
  }

  private async publishDead(dead: readonly DeadLetter[]): Promise<void> {
    for (const d of dead) {
      const value = Buffer.from(
        JSON.stringify({
          app: d.appId,
          webhook: d.endpointId,
          event: d.event,
          reason: d.reason,
          attempts: d.attempts,
          dead_at: d.deadAt,
          ...(d.lastError !== undefined ? { last_error: d.lastError } : {}),
        }),
      );
      await this.d.bus.publish(WEBHOOK_DLQ_TOPIC, eventKey(d.appId, d.event), value).catch((err: unknown) =>
        this.log.warn({
          msg: 'dead letter not published to the DLQ topic',
          app: d.appId,
          err: String(err),
        }),
      );
    }
  }

  /** Full jitter: uniform below min(max, initial * 2^(attempt-1)), but never sooner than Retry-After. */
  backoff(attempt: number, retryAfterMs?: number): number {
    const { backoffInitialMilliseconds: base, backoffMaxMilliseconds: cap } = this.d.config;
    const ceiling = Math.min(cap, base * 2 ** Math.min(attempt - 1, 30));
    const jittered = Math.floor(this.random() * ceiling);
    return Math.min(cap, Math.max(jittered, retryAfterMs ?? 0));
  }

  private sign(endpoint: WebhookEndpoint, id: string, body: string): Record<string, string> {
    const ts = Math.floor(this.d.scheduler.now() / 1000);
    if (endpoint.format === 'pusher' && endpoint.pusher) {
      return { 'webhook-id': id, ...pusherHeaders(endpoint.pusher.key, endpoint.pusher.secret, body) };
    }
    return standardHeaders(endpoint.secrets, id, ts, body);
  }

  /** Resolves when no delivery is in flight (tests, graceful stop). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0 || this.pumping) {
      await Promise.all([...this.inflight.values()].map((f) => f.done));
      if (this.pumping) await new Promise<void>((r) => setImmediate(r));
    }
  }

  /**
   * Stops consuming. Graceful: in-flight deliveries finish. `abort`: in-flight requests are cut
   * (a crash, as far as the store is concerned: their leases expire and another instance resends).
   */
  async stop(options: { abort?: boolean } = {}): Promise<void> {
    if (options.abort) {
      this.stopped = true;
      for (const f of this.inflight.values()) f.abort.abort();
    }
    await this.subscription?.close();
    if (!options.abort) await this.idle();
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelPoll?.();
  }
}

function describe(o: SendOutcome): string {
  switch (o.kind) {
    case 'response':
      return `HTTP ${o.status}`;
    case 'timeout':
      return 'timeout';
    case 'network':
    case 'blocked':
      return o.error;
  }
}
