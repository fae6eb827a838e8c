/**
 * Retry delay of a failed push: full jitter (uniform below min(cap, initial x 2^(attempt-1))), but
 * never sooner than the provider's Retry-After, which is not capped: a waiting job is parked, not
 * held in its partition (docs/push.md). The dispatcher dead-letters a job whose Retry-After is over
 * MAX_RETRY_AFTER_MS instead of calling this.
 */
export function pushBackoff(
  attempt: number,
  opts: { initialMs: number; maxMs: number; retryAfterMs?: number; random?: () => number },
): number {
  const ceiling = Math.min(opts.maxMs, opts.initialMs * 2 ** Math.min(Math.max(attempt, 1) - 1, 30));
  const jittered = Math.floor((opts.random ?? Math.random)() * ceiling);
  return Math.max(Math.min(opts.maxMs, jittered), opts.retryAfterMs ?? 0);
}

/**
 * Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
