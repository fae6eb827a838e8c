import { Module, type DynamicModule, type InjectionToken, type Provider } from '@nestjs/common';
import { CoreModule } from '@herald/core';
import { DrainHealthIndicator } from './drain.health-indicator.js';
import { HealthController } from './health.controller.js';
import { HEALTH_INDICATORS, type HealthIndicator } from './health-indicator.js';

export interface HealthModuleOptions {
  /** Tokens of further readiness checks (provided by global modules), after the drain check. */
  indicators?: InjectionToken[];
}

function indicatorsProvider(tokens: InjectionToken[]): Provider {
  return {
    provide: HEALTH_INDICATORS,
    useFactory: (...indicators: HealthIndicator[]) => indicators,
    inject: [DrainHealthIndicator, ...tokens],
  };
}

/**
 * `GET /healthz` (liveness) and `GET /readyz` (readiness, see HealthIndicator). Import it as is for
 * the drain check only, or with `HealthModule.forRoot({ indicators: [...] })` to add driver checks.
 */
@Module({
  imports: [CoreModule],
  controllers: [HealthController],
  providers: [DrainHealthIndicator, indicatorsProvider([])],
  exports: [HEALTH_INDICATORS],
})
export class HealthModule {
  static forRoot(options: HealthModuleOptions = {}): DynamicModule {
    return {
      module: HealthModule,
      providers: [indicatorsProvider(options.indicators ?? [])],
      exports: [HEALTH_INDICATORS],
    };
  }
}
