/**
 * RateLimiter: token buckets shared by every node (memory: one process; Redis: the cluster).
 *
 * Guarantees (libs/testing `rateLimiterContract`): a bucket named (appId, key) holds at most
 * `burst` tokens and refills continuously at `perSecond`; `consume` atomically takes `cost`
 * tokens (default 1) if available and otherwise takes none. `remaining` is the whole tokens left
 * after the decision. `retryAfterMs` is the time until `cost` tokens will be available (0 when
 * allowed; Infinity when they never will be: `cost` > `burst`, or `perSecond` 0 with too few left).
 * `perSecond` 0 means the bucket never refills. Buckets of different apps are independent.
 */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export interface RateDecision {
  allowed: boolean;
  remaining: number;
  retryAfterMs: number;
}

export interface RateLimiter {
  consume(appId: string, key: string, limit: RateLimit, cost?: number): Promise<RateDecision>;
}

export const RATE_LIMITER = Symbol('RateLimiter');
