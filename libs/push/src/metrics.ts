import { Counter, Gauge, Registry } from 'prom-client';
import type { PushFailureReason } from './senders/push-sender.js';

export type SkipReason = 'online' | 'acked' | 'no_devices';

/**
 * Push metrics (labels bounded: app id, platform, and small enums; never user, device or token):
 * - `herald_push_sent_total{app,platform}`
 * - `herald_push_skipped_total{app,reason}`: online (policy offline), acked (policy unacked), no_devices
 * - `herald_push_failed_total{app,platform,reason}`: each failed send, retried ones included
 * - `herald_push_tokens_pruned_total{app,platform}`
 * - `herald_push_retried_total{app}`, `herald_push_dead_lettered_total{app}`
 * - `herald_push_queue_lag_milliseconds{app}`: publish-to-handling time of the last first attempt
 */
export class PushMetrics {
  readonly sent: Counter<'app' | 'platform'>;
  readonly skipped: Counter<'app' | 'reason'>;
  readonly failed: Counter<'app' | 'platform' | 'reason'>;
  readonly pruned: Counter<'app' | 'platform'>;
  readonly retried: Counter<'app'>;
  readonly deadLettered: Counter<'app'>;
  readonly lag: Gauge<'app'>;

  constructor(registry: Registry = new Registry()) {
    const registers = [registry];
    this.sent = new Counter({
      name: 'herald_push_sent_total',
      help: 'Pushes accepted by APNs or FCM',
      labelNames: ['app', 'platform'],
      registers,
    });
    this.skipped = new Counter({
      name: 'herald_push_skipped_total',
      help: 'Push jobs not sent: user online (offline policy), message acknowledged (unacked policy), no devices',
      labelNames: ['app', 'reason'],
      registers,
    });
    this.failed = new Counter({
      name: 'herald_push_failed_total',
      help: 'Failed sends by reason (retried sends included)',
      labelNames: ['app', 'platform', 'reason'],
      registers,
    });
    this.pruned = new Counter({
      name: 'herald_push_tokens_pruned_total',
      help: 'Device tokens deleted because the provider reported them unregistered or invalid',
      labelNames: ['app', 'platform'],
      registers,
    });
    this.retried = new Counter({
      name: 'herald_push_retried_total',
      help: 'Push jobs re-enqueued for a retry',
      labelNames: ['app'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'herald_push_dead_lettered_total',
      help: 'Push jobs moved to the dead-letter store',
      labelNames: ['app'],
      registers,
    });
    this.lag = new Gauge({
      name: 'herald_push_queue_lag_milliseconds',
      help: 'Time from publish to the dispatcher handling the job (last first attempt)',
      labelNames: ['app'],
      registers,
    });
  }

  failure(app: string, platform: string, reason: PushFailureReason): void {
    this.failed.inc({ app, platform, reason });
  }
}
