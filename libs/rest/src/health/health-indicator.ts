/**
 * A readiness check. Readiness (`GET /readyz`) is the conjunction of every registered indicator: a
 * node that is not ready is taken out of load balancing (Kubernetes readinessProbe) but not
 * restarted, so indicators report "cannot serve now" (draining, a dependency unreachable), never
 * "broken for good" (that is liveness, `GET /healthz`).
 *
 * How to add one (e.g. a Redis or Kafka driver reporting its connection):
 * 1. implement this interface in an injectable provider of the driver's (global) module;
 * 2. list its token in `HealthModule.forRoot({ indicators: [RedisHealthIndicator] })` in the app's
 *    composition root. HealthModule collects `[drain, ...indicators]` under HEALTH_INDICATORS (Nest
 *    has no multi-providers; this list is that token's one definition).
 *
 * Contract: `ready()` should answer within READY_TIMEOUT_MS; a slower answer, or a rejection,
 * counts as not ready. It runs on every probe, so it must be cheap (report a cached connection
 * state rather than doing a round trip per probe).
 */
export interface HealthIndicator {
  /** Short, stable name reported in `failing` when not ready: `drain`, `redis`, `kafka`. */
  readonly name: string;
  ready(): Promise<boolean>;
}

/** Injection token of the `HealthIndicator[]` readiness aggregates; the drain check is first. */
export const HEALTH_INDICATORS = Symbol('HealthIndicators');

export const READY_TIMEOUT_MS = 2000;
