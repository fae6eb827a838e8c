import { Module, type DynamicModule } from '@nestjs/common';
import { HeraldLogger, type HeraldLoggerOptions, type LogLevel } from './logger.js';

/** Provides the process's HeraldLogger, globally. Children (`logger.child({ app })`) share its output. */
@Module({})
export class ObservabilityModule {
  static forRoot(level: LogLevel, options: Omit<HeraldLoggerOptions, 'level'> = {}): DynamicModule {
    return {
      module: ObservabilityModule,
      global: true,
      providers: [{ provide: HeraldLogger, useValue: HeraldLogger.create({ ...options, level }) }],
      exports: [HeraldLogger],
    };
  }
}
