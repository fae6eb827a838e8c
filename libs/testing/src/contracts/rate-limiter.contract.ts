import { requireClock, type ContractOptions } from './fixture.js';
import type { RateLimiter } from '@herald/state';
import { uniqueId } from '../unique-id.js';
import { waitFor } from '../wait-for.js';
import { type ContractFixture, SLOW_TEST_MS } from './fixture.js';

export interface RateLimiterFixture extends ContractFixture {
  limiter: RateLimiter;
}

/** The RateLimiter guarantees (libs/state/src/rate-limiter.ts), for every driver. */
export function rateLimiterContract(
  name: string,
  setup: () => Promise<RateLimiterFixture>,
  options: ContractOptions = { manualClock: true },
): void {
  // Checks of exact timing need a clock the suite controls; on real time they are reported as skipped.
  const itManualClock = options.manualClock ? it : it.skip;
  describe(`RateLimiter contract: ${name}`, () => {
    let fx: RateLimiterFixture;
    let limiter: RateLimiter;
    let app: string;

    beforeEach(async () => {
      fx = await setup();
      limiter = fx.limiter;
      app = uniqueId('app');
    });
    afterEach(async () => {
      await fx.teardown();
    });

    it('allows `burst` requests at once, then refuses with a retry time within one token', async () => {
      const limit = { perSecond: 1, burst: 3 };
      const decisions = [];
      for (let i = 0; i < 4; i++) decisions.push(await limiter.consume(app, 'k', limit));
      expect(decisions.slice(0, 3)).toEqual([
        { allowed: true, remaining: 2, retryAfterMs: 0 },
        { allowed: true, remaining: 1, retryAfterMs: 0 },
        { allowed: true, remaining: 0, retryAfterMs: 0 },
      ]);
      expect(decisions[3].allowed).toBe(false);
      expect(decisions[3].remaining).toBe(0);
      expect(decisions[3].retryAfterMs).toBeGreaterThan(0);
      expect(decisions[3].retryAfterMs).toBeLessThanOrEqual(1000);
    });

    it('takes `cost` tokens, and none when refusing', async () => {
      const limit = { perSecond: 0, burst: 5 };
      expect(await limiter.consume(app, 'k', limit, 3)).toEqual({
        allowed: true,
        remaining: 2,
        retryAfterMs: 0,
      });
      const refused = await limiter.consume(app, 'k', limit, 3);
      expect(refused.allowed).toBe(false);
      expect(refused.remaining).toBe(2);
      expect(await limiter.consume(app, 'k', limit, 2)).toEqual({
        allowed: true,
        remaining: 0,
        retryAfterMs: 0,
      });
    });

    it('reports Infinity when the tokens will never be there', async () => {
      expect(await limiter.consume(app, 'big', { perSecond: 10, burst: 2 }, 3)).toEqual({
        allowed: false,
        remaining: 2,
        retryAfterMs: Infinity,
      });
      const limit = { perSecond: 0, burst: 1 };
      await limiter.consume(app, 'never', limit);
      expect((await limiter.consume(app, 'never', limit)).retryAfterMs).toBe(Infinity);
    });

    it(
      'refills continuously at perSecond',
      async () => {
        const limit = { perSecond: 20, burst: 2 }; // a token every 50 ms
        await limiter.consume(app, 'k', limit, 2);
        const refused = await limiter.consume(app, 'k', limit);
        expect(refused.allowed).toBe(false);
        expect(refused.retryAfterMs).toBeGreaterThan(0);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(50);
        if (fx.clock) {
          fx.clock.advance(refused.retryAfterMs - 1);
          expect((await limiter.consume(app, 'k', limit)).allowed).toBe(false);
          fx.clock.advance(1);
          expect(await limiter.consume(app, 'k', limit)).toEqual({
            allowed: true,
            remaining: 0,
            retryAfterMs: 0,
          });
        } else {
          await waitFor(async () => (await limiter.consume(app, 'k', limit)).allowed, { timeoutMs: 2000 });
        }
      },
      SLOW_TEST_MS,
    );

    itManualClock('never holds more than burst (manual clock only)', async () => {
      const clock = requireClock(fx);
      const limit = { perSecond: 100, burst: 3 };
      await limiter.consume(app, 'k', limit);
      clock.advance(3_600_000);
      const allowed = [];
      for (let i = 0; i < 4; i++) allowed.push((await limiter.consume(app, 'k', limit)).allowed);
      expect(allowed).toEqual([true, true, true, false]);
    });

    itManualClock('never refills with perSecond 0 (manual clock only)', async () => {
      const clock = requireClock(fx);
      const limit = { perSecond: 0, burst: 1 };
      await limiter.consume(app, 'k', limit);
      clock.advance(3_600_000);
      expect((await limiter.consume(app, 'k', limit)).allowed).toBe(false);
    });

    it('is atomic: of 30 concurrent requests on a bucket of 10, exactly 10 pass', async () => {
      const limit = { perSecond: 0, burst: 10 };
      const decisions = await Promise.all(Array.from({ length: 30 }, () => limiter.consume(app, 'k', limit)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
      expect(
        decisions
          .filter((d) => d.allowed)
          .map((d) => d.remaining)
          .sort((a, b) => a - b),
      ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('keeps buckets of different apps and keys independent', async () => {
      const limit = { perSecond: 0, burst: 1 };
      const other = uniqueId('app');
      expect((await limiter.consume(app, 'k', limit)).allowed).toBe(true);
      expect((await limiter.consume(app, 'k', limit)).allowed).toBe(false);
      expect((await limiter.consume(other, 'k', limit)).allowed).toBe(true);
      expect((await limiter.consume(app, 'k2', limit)).allowed).toBe(true);
    });
  });
}
