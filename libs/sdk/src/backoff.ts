/**
 * Reconnect delays: exponential backoff with full jitter (docs/protocol.md §8.2). Before attempt n
 * (from 0) the client waits a uniformly random time in [0, min(maxMs, baseMs × 2^n)]. Full jitter,
 * not "base plus a little noise", is what keeps a crowd of clients dropped at once (a node restart)
 * from coming back in synchronized waves.
 */
export interface BackoffOptions {
  /** Upper bound of the first delay window. Default 500 ms. */
  baseMs?: number;
  /** Cap of every window. Default 20 s. */
  maxMs?: number;
  /**
   * Cap of a server's reconnect advice (`advice.delay_ms` on a disconnect): a larger advised delay
   * is cut to this, so a misconfigured server cannot park clients for hours. Default 60 s.
   */
  maxAdviceMs?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { baseMs: 500, maxMs: 20_000, maxAdviceMs: 60_000 };

/** The window's upper bound for `attempt`: min(maxMs, baseMs × 2^attempt). */
export function backoffCeiling(attempt: number, options: BackoffOptions = {}): number {
  const { baseMs, maxMs } = { ...DEFAULT_BACKOFF, ...options };
  // 2^attempt overflows to Infinity for huge attempts; min() then yields the cap, as wanted.
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
}

/** A full-jitter delay for `attempt`; `random` is injectable so tests can draw many. */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  return Math.floor(random() * backoffCeiling(attempt, options));
}

/**
 * The delay before reconnect attempt `attempt` when the server advised waiting at least
 * `adviceMs` (docs/protocol.md §5 disconnect): the advice, capped at `maxAdviceMs`, plus the usual
 * full-jitter draw on top, so clients a node told to wait the same time still come back spread
 * out. Without advice (undefined, negative or not finite) it is the plain full-jitter delay.
 */
export function reconnectDelay(
  attempt: number,
  adviceMs: number | undefined,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const jitter = backoffDelay(attempt, options, random);
  if (adviceMs === undefined || !Number.isFinite(adviceMs) || adviceMs <= 0) return jitter;
  const { maxAdviceMs } = { ...DEFAULT_BACKOFF, ...options };
  return Math.floor(Math.min(adviceMs, maxAdviceMs)) + jitter;
}
