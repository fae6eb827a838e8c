import { parseRetryAfter, pushBackoff } from './backoff.js';

describe('pushBackoff', () => {
  const opts = { initialMs: 1000, maxMs: 15_000 };

  it('draws below a ceiling that doubles per attempt, up to the cap (full jitter)', () => {
    expect(pushBackoff(1, { ...opts, random: () => 0.999 })).toBe(999);
    expect(pushBackoff(2, { ...opts, random: () => 0.5 })).toBe(1000);
    expect(pushBackoff(4, { ...opts, random: () => 0.999 })).toBe(7992);
    expect(pushBackoff(30, { ...opts, random: () => 0.999 })).toBe(14_985);
    expect(pushBackoff(1, { ...opts, random: () => 0 })).toBe(0);
  });

  it('spreads over [0, ceiling) across many draws', () => {
    const draws = Array.from({ length: 2000 }, () => pushBackoff(3, opts));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(4000);
    expect(draws.filter((d) => d < 2000).length).toBeGreaterThan(700);
    expect(draws.filter((d) => d >= 2000).length).toBeGreaterThan(700);
  });

  it('never retries sooner than Retry-After, even one longer than the cap', () => {
    expect(pushBackoff(1, { ...opts, retryAfterMs: 3000, random: () => 0 })).toBe(3000);
    expect(pushBackoff(1, { ...opts, retryAfterMs: 60_000, random: () => 0 })).toBe(60_000);
    expect(pushBackoff(1, { ...opts, retryAfterMs: 1_800_000, random: () => 0.999 })).toBe(1_800_000);
    // Without Retry-After the cap still bounds the jittered delay.
    expect(pushBackoff(30, { ...opts, retryAfterMs: 10, random: () => 0.999 })).toBe(14_985);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('2', 0)).toBe(2000);
    expect(parseRetryAfter(['7'], 0)).toBe(7000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
  });
});
