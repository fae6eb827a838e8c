import { backoffCeiling, backoffDelay } from './backoff.js';

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
