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

/** What the metrics issue exports (counters and gauges); read on scrape. */
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
}
