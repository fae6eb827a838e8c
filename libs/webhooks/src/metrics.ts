import { Counter, Gauge, type Registry } from 'prom-client';
import type { DeliveryCounters, DeliveryOutcome } from './dispatcher.js';
import type { Scheduler } from './timers.js';
import type { WebhookStore } from './webhook-store.js';

export interface WebhookMetricsSnapshot {
  /** Events by final or intermediate outcome (retried counts attempts). */
  deliveries: Record<DeliveryOutcome, number>;
  /** Events awaiting delivery or retry. */
  backlog: number;
  retryingBatches: number;
  /** Age of the oldest pending event in ms (0 when none). */
  oldestPendingAgeMs: number;
  deadLetters: number;
}

/**
 * Webhook delivery metrics, read at scrape time: deliveries by app and outcome (this process
 * since start), and from the store (shared by every replica with the SQL driver) the retry
 * backlog, the batches waiting for a retry, the age of the oldest pending event and the size of
 * the dead-letter store. Labels are the app id and the outcome enum only.
 */
export class WebhookMetrics {
  constructor(
    private readonly counters: DeliveryCounters,
    private readonly store: WebhookStore,
    private readonly scheduler: Scheduler,
  ) {}

  async snapshot(): Promise<WebhookMetricsSnapshot> {
    const s = await this.store.stats();
    return {
      deliveries: { ...this.counters.byOutcome },
      backlog: s.pending,
      retryingBatches: s.retrying,
      oldestPendingAgeMs: s.oldestPendingAt === undefined ? 0 : this.scheduler.now() - s.oldestPendingAt,
      deadLetters: s.deadLetters,
    };
  }

  /** Registers the metrics in `registry` (the node's /metrics registry). */
  register(registry: Registry): void {
    const counters = this.counters;
    new Counter({
      name: 'herald_webhook_deliveries_total',
      help: 'Webhook events by outcome (delivered, dead_lettered, gone, blocked) and retried attempts, by app.',
      labelNames: ['app', 'outcome'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [app, byOutcome] of counters.byApp)
          for (const [outcome, n] of Object.entries(byOutcome)) if (n > 0) this.inc({ app, outcome }, n);
      },
    });
    // One store read per scrape, shared by the gauges below.
    let pending: Promise<WebhookMetricsSnapshot> | undefined;
    const read = (): Promise<WebhookMetricsSnapshot> => {
      pending ??= this.snapshot().finally(() => setImmediate(() => (pending = undefined)));
      return pending;
    };
    const gauge = (name: string, help: string, pick: (s: WebhookMetricsSnapshot) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          this.set(pick(await read()));
        },
      });
    gauge('herald_webhook_backlog_events', 'Webhook events queued or awaiting a retry.', (s) => s.backlog);
    gauge(
      'herald_webhook_retrying_batches',
      'Webhook batches that failed at least once and wait for a retry.',
      (s) => s.retryingBatches,
    );
    gauge(
      'herald_webhook_oldest_pending_age_seconds',
      'Age of the oldest webhook event not yet delivered (0 when none).',
      (s) => s.oldestPendingAgeMs / 1000,
    );
    gauge(
      'herald_webhook_dead_letters',
      'Webhook events in the dead-letter store (listed and replayed through the admin API).',
      (s) => s.deadLetters,
    );
  }
}
