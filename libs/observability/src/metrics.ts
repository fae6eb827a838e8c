import { Controller, Get, Header, Inject, Module, type OnModuleDestroy } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { processMetrics } from './process-metrics.js';

/**
 * The process's Prometheus registry. Feature modules register their metrics into it (inject
 * METRICS_REGISTRY); `/metrics` serves it in the text exposition format. Label sets must stay
 * bounded: app ids and transport kinds, never user ids or channel names.
 */
export const METRICS_REGISTRY = Symbol('MetricsRegistry');

@Controller()
export class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

class RegistryHolder implements OnModuleDestroy {
  readonly registry = new Registry();
  constructor() {
    // Process CPU, memory, handles and event-loop lag (nodejs_eventloop_lag_*).
    collectDefaultMetrics({ register: this.registry, prefix: 'herald_' });
    // Metrics of drivers and transports, defined at module load (see processMetric).
    for (const metric of processMetrics()) this.registry.registerMetric(metric);
  }
  onModuleDestroy(): void {
    this.registry.clear();
  }
}

/** `/metrics` and the registry, globally; every app imports it through the PortsModule. */
@Module({
  controllers: [MetricsController],
  providers: [
    RegistryHolder,
    { provide: METRICS_REGISTRY, useFactory: (h: RegistryHolder) => h.registry, inject: [RegistryHolder] },
  ],
  exports: [METRICS_REGISTRY],
})
export class MetricsModule {}
