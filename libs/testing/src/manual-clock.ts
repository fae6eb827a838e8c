/**
 * A clock that only moves when told to. Drivers take `now: () => number`; pass `clock.now` to make
 * every TTL and refill decision deterministic in tests.
 */
export class ManualClock {
  private time: number;

  constructor(start = 1_700_000_000_000) {
    this.time = start;
  }

  /** Bound so it can be handed to a driver as `now`. */
  readonly now = (): number => this.time;

  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ms must be >= 0, got ${ms}`);
    this.time += ms;
  }
}
