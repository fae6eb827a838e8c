import { backoffCeiling, backoffDelay, reconnectDelay } from './backoff.js';

describe('full-jitter backoff', () => {
  const opts = { baseMs: 100, maxMs: 5000 };

  it('grows the window exponentially up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20, 5000].map((n) => backoffCeiling(n, opts))).toEqual([
      100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000,
    ]);
  });

  it('draws uniformly over [0, window]: spread across the window, never over the cap', () => {
    for (const attempt of [0, 3, 10]) {
      const ceiling = backoffCeiling(attempt, opts);
      const draws = Array.from({ length: 20_000 }, () => backoffDelay(attempt, opts));
      expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...draws)).toBeLessThanOrEqual(ceiling);
      // Full jitter, not "ceiling plus noise": every tenth of the window gets about 10 % of draws.
      const buckets = new Array<number>(10).fill(0);
      for (const d of draws) buckets[Math.min(9, Math.floor((d / ceiling) * 10))]++;
      for (const b of buckets) expect(b / draws.length).toBeGreaterThan(0.08);
      for (const b of buckets) expect(b / draws.length).toBeLessThan(0.12);
      const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
      expect(mean / ceiling).toBeGreaterThan(0.45);
      expect(mean / ceiling).toBeLessThan(0.55);
    }
  });

  it('maps the random source onto the window ends', () => {
    expect(backoffDelay(2, opts, () => 0)).toBe(0);
    expect(backoffDelay(2, opts, () => 0.999999)).toBe(399);
    expect(backoffDelay(50, opts, () => 0.999999)).toBe(4999);
  });
});

describe('reconnect advice', () => {
  const opts = { baseMs: 100, maxMs: 5000, maxAdviceMs: 3000 };

  it('waits at least the advised delay, with the full-jitter draw on top', () => {
    const draws = Array.from({ length: 5000 }, () => reconnectDelay(2, 1000, opts));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...draws)).toBeLessThanOrEqual(1000 + backoffCeiling(2, opts));
    // The jitter really spreads clients told the same delay: not all at the floor.
    expect(new Set(draws).size).toBeGreaterThan(100);
    expect(reconnectDelay(2, 1000, opts, () => 0)).toBe(1000);
    expect(reconnectDelay(2, 1000, opts, () => 0.999999)).toBe(1399);
  });

  it('caps the advice at maxAdviceMs (default 60 s)', () => {
    expect(reconnectDelay(0, 3_600_000, opts, () => 0)).toBe(3000);
    expect(reconnectDelay(0, 3_600_000, {}, () => 0)).toBe(60_000);
    expect(reconnectDelay(50, 3_600_000, opts, () => 0.999999)).toBe(3000 + 4999);
  });

  it('without usable advice it is the plain full-jitter delay', () => {
    for (const advice of [undefined, 0, -5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(reconnectDelay(3, advice, opts, () => 0.5)).toBe(backoffDelay(3, opts, () => 0.5));
  });
});
