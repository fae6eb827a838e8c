/**
 * A local token bucket: holds at most `burst` tokens, refills continuously at `perSecond`.
 * Synchronous and allocation-free per call, for per-connection and per-node limits on the hot path
 * (and the buckets of MemoryRateLimiter). Not shared between processes: see RateLimiter for that.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private perSecond: number,
    private burst: number,
    private readonly now: () => number = Date.now,
  ) {
    checkLimit(perSecond, burst);
    this.tokens = burst;
    this.last = now();
  }

  /** Takes `cost` tokens if available and returns true; otherwise takes none and returns false. */
  take(cost = 1): boolean {
    checkCost(cost);
    this.refill();
    // Tolerate float error from fractional refills (e.g. 0.1 + 0.2 tokens).
    if (this.tokens + EPSILON < cost) return false;
    this.tokens = Math.max(0, this.tokens - cost);
    return true;
  }

  /** Milliseconds until `cost` tokens are available: 0 if they are now, Infinity if never. */
  retryAfterMs(cost = 1): number {
    checkCost(cost);
    this.refill();
    const missing = cost - this.tokens;
    if (missing <= EPSILON) return 0;
    if (cost > this.burst || this.perSecond <= 0) return Infinity;
    return Math.ceil((missing * 1000) / this.perSecond);
  }

  /** Tokens available now (fractional). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** True when the bucket is full, i.e. indistinguishable from a new one (safe to drop). */
  isFull(): boolean {
    return this.available() >= this.burst;
  }

  /** Applies a changed limit, keeping the tokens held (capped at the new burst). */
  reconfigure(perSecond: number, burst: number): void {
    if (perSecond === this.perSecond && burst === this.burst) return;
    checkLimit(perSecond, burst);
    this.refill();
    this.perSecond = perSecond;
    this.burst = burst;
    if (this.tokens > burst) this.tokens = burst;
  }

  private refill(): void {
    const now = this.now();
    const elapsed = now - this.last;
    // A clock stepping backwards refills nothing (and does not punish the caller either).
    if (elapsed <= 0) {
      if (elapsed < 0) this.last = now;
      return;
    }
    this.last = now;
    if (this.tokens < this.burst)
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.perSecond) / 1000);
  }
}

const EPSILON = 1e-9;

function checkLimit(perSecond: number, burst: number): void {
  if (!(perSecond >= 0) || !(burst >= 0)) {
    throw new RangeError(`token bucket needs perSecond >= 0 and burst >= 0, got ${perSecond}/${burst}`);
  }
}

function checkCost(cost: number): void {
  if (!(cost >= 0)) throw new RangeError(`token cost must be >= 0, got ${cost}`);
}
