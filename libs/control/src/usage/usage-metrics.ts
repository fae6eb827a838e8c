import { Inject, Injectable, Optional, type OnModuleInit } from '@nestjs/common';
import { Counter, Gauge, type Registry } from 'prom-client';
import { METRICS_REGISTRY } from '@herald/observability';
import { USAGE_METER, type UsageMeter, type UsageSnapshotProvider } from './usage.js';

type UsageTotals = ReturnType<UsageSnapshotProvider['snapshot']> extends Map<string, infer V> ? V : never;

function isSnapshotProvider(meter: UsageMeter): meter is UsageMeter & UsageSnapshotProvider {
  return typeof (meter as Partial<UsageSnapshotProvider>).snapshot === 'function';
}

/**
 * Exports usage metering as Prometheus metrics, per app (a bounded label: one per tenant):
 * live connections on this node, and messages published, delivered and pushes sent since the
 * process started. Read from the meter at scrape time, so the hot path pays nothing extra.
 */
@Injectable()
export class UsageMetrics implements OnModuleInit {
  constructor(
    @Inject(USAGE_METER) private readonly meter: UsageMeter,
    @Optional() @Inject(METRICS_REGISTRY) private readonly registry?: Registry,
  ) {}

  onModuleInit(): void {
    const registry = this.registry;
    const meter = this.meter;
    if (!registry || !isSnapshotProvider(meter)) return;
    const counter = (name: string, help: string, pick: (c: UsageTotals) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['app'],
        registers: [registry],
        collect() {
          this.reset();
          for (const [app, c] of meter.snapshot()) this.inc({ app }, pick(c));
        },
      });
    new Gauge({
      name: 'herald_connections',
      help: 'Live client connections on this node, by app.',
      labelNames: ['app'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [app, c] of meter.snapshot()) this.set({ app }, c.connections);
      },
    });
    counter(
      'herald_messages_published_total',
      'Publications accepted by this node, by app.',
      (c) => c.published,
    );
    counter(
      'herald_messages_delivered_total',
      'Publications delivered to connections on this node, by app.',
      (c) => c.delivered,
    );
    counter('herald_pushes_sent_total', 'Mobile pushes sent by this node, by app.', (c) => c.pushesSent);
  }
}
