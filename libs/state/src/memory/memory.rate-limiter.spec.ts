import { ManualClock, rateLimiterContract } from '@herald/testing';
import { MemoryRateLimiter } from './memory.rate-limiter.js';

rateLimiterContract('MemoryRateLimiter', async () => {
  const clock = new ManualClock();
  const limiter = new MemoryRateLimiter({ now: clock.now, sweepIntervalMs: 0 });
  return { limiter, clock, teardown: async () => limiter.close() };
});

rateLimiterContract(
  'MemoryRateLimiter on real time',
  async () => {
    const limiter = new MemoryRateLimiter();
    return { limiter, teardown: async () => limiter.close() };
  },
  { manualClock: false },
);

describe('MemoryRateLimiter', () => {
  it('drops full buckets and long-idle ones on sweep', async () => {
    const clock = new ManualClock();
    const limiter = new MemoryRateLimiter({ now: clock.now, sweepIntervalMs: 0, maxIdleMs: 10_000 });
    await limiter.consume('a', 'refilling', { perSecond: 10, burst: 1 });
    await limiter.consume('a', 'never', { perSecond: 0, burst: 1 });
    await limiter.consume('b', 'refilling', { perSecond: 10, burst: 1 });
    expect(limiter.size).toBe(3);
    clock.advance(100);
    limiter.sweep();
    expect(limiter.size).toBe(1);
    clock.advance(9_900);
    limiter.sweep();
    expect(limiter.size).toBe(0);
    limiter.close();
  });

  it('applies a changed limit to an existing bucket', async () => {
    const limiter = new MemoryRateLimiter({ sweepIntervalMs: 0 });
    await limiter.consume('a', 'k', { perSecond: 0, burst: 5 }, 2);
    expect(await limiter.consume('a', 'k', { perSecond: 0, burst: 2 })).toEqual({
      allowed: true,
      remaining: 1,
      retryAfterMs: 0,
    });
    limiter.close();
  });
});
