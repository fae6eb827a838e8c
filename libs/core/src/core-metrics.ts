import { Inject, Injectable, Optional, type OnModuleInit } from '@nestjs/common';
import { Gauge, type Registry } from 'prom-client';
import { METRICS_REGISTRY } from '@herald/observability';
import { Hub } from './hub.js';

/** Live connections on this node by app and transport, counted from the hub at scrape time. */
@Injectable()
export class CoreMetrics implements OnModuleInit {
  constructor(
    private readonly hub: Hub,
    @Optional() @Inject(METRICS_REGISTRY) private readonly registry?: Registry,
  ) {}

  onModuleInit(): void {
    const registry = this.registry;
    if (!registry) return;
    const hub = this.hub;
    new Gauge({
      name: 'herald_client_connections',
      help: 'Live client connections on this node, by app and transport.',
      labelNames: ['app', 'transport'],
      registers: [registry],
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const s of hub.allSessions()) {
          const key = `${s.app.id}\u0000${s.transport.kind}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        for (const [key, n] of counts) {
          const [app, transport] = key.split('\u0000');
          this.set({ app, transport }, n);
        }
      },
    });
    // One unlabelled series per node, present even at zero: what the gateway HPA averages.
    new Gauge({
      name: 'herald_node_connections',
      help: 'Live client connections on this node, all apps and transports (the gateway autoscaling metric).',
      registers: [registry],
      collect() {
        this.set(hub.sessionCount);
      },
    });
  }
}
