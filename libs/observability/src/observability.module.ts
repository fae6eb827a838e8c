import { Module, type DynamicModule } from '@nestjs/common';
import { HeraldLogger, type HeraldLoggerOptions, type LogLevel } from './logger.js';
import { MetricsModule } from './metrics.js';

/**
 * Provides the process's HeraldLogger and metrics registry (served at `/metrics`), globally.
 * Children (`logger.child({ app })`) share the logger's output.
 */
@Module({})
export class ObservabilityModule {
  static forRoot(level: LogLevel, options: Omit<HeraldLoggerOptions, 'level'> = {}): DynamicModule {
    return {
      module: ObservabilityModule,
      global: true,
      imports: [MetricsModule],
      providers: [{ provide: HeraldLogger, useValue: HeraldLogger.create({ ...options, level }) }],
      exports: [HeraldLogger, MetricsModule],
    };
  }
}
