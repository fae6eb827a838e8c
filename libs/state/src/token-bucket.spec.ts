import { ManualClock } from '@herald/testing';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket', () => {
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock();
  });

  it('starts full and allows `burst` takes, then refuses', () => {
    const b = new TokenBucket(1, 3, clock.now);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    expect(b.available()).toBe(0);
  });

  it('refills continuously at perSecond, never above burst', () => {
    const b = new TokenBucket(10, 2, clock.now);
    b.take(2);
    expect(b.retryAfterMs()).toBe(100);
    clock.advance(99);
    expect(b.take()).toBe(false);
    clock.advance(1);
    expect(b.take()).toBe(true);
    clock.advance(3_600_000);
    expect(b.available()).toBe(2);
    expect(b.isFull()).toBe(true);
  });

  it('takes nothing when refusing a cost larger than what is available', () => {
    const b = new TokenBucket(1, 5, clock.now);
    expect(b.take(3)).toBe(true);
    expect(b.take(3)).toBe(false);
    expect(b.available()).toBe(2);
    expect(b.take(2)).toBe(true);
  });

  it('retryAfterMs is 0 when available, the refill time otherwise, Infinity when never', () => {
    const b = new TokenBucket(4, 4, clock.now);
    expect(b.retryAfterMs(4)).toBe(0);
    b.take(4);
    expect(b.retryAfterMs(1)).toBe(250);
    expect(b.retryAfterMs(3)).toBe(750);
    expect(b.retryAfterMs(5)).toBe(Infinity); // more than burst
    expect(new TokenBucket(0, 1, clock.now).retryAfterMs(2)).toBe(Infinity);
  });

  it('never refills with perSecond 0', () => {
    const b = new TokenBucket(0, 2, clock.now);
    b.take(2);
    clock.advance(86_400_000);
    expect(b.take()).toBe(false);
    expect(b.retryAfterMs()).toBe(Infinity);
  });

  it('accumulates fractional refills exactly enough', () => {
    const b = new TokenBucket(3, 1, clock.now);
    b.take();
    clock.advance(333);
    expect(b.take()).toBe(false);
    expect(b.retryAfterMs()).toBe(1);
    clock.advance(1);
    expect(b.take()).toBe(true);
  });

  it('cost 0 is always allowed; a negative cost is an error', () => {
    const b = new TokenBucket(0, 0, clock.now);
    expect(b.take(0)).toBe(true);
    expect(() => b.take(-1)).toThrow(RangeError);
    expect(() => new TokenBucket(-1, 1)).toThrow(RangeError);
  });

  it('reconfigure keeps the tokens held, capped at the new burst', () => {
    const b = new TokenBucket(1, 10, clock.now);
    b.take(4);
    b.reconfigure(1, 3);
    expect(b.available()).toBe(3);
    b.reconfigure(100, 20);
    expect(b.available()).toBe(3);
    clock.advance(100);
    expect(b.available()).toBe(13);
  });

  it('refills nothing when the clock steps backwards, and counts on from there', () => {
    let t = 10_000;
    const b = new TokenBucket(10, 2, () => t);
    b.take(2);
    t = 5_000;
    expect(b.take()).toBe(false);
    t = 5_100;
    expect(b.take()).toBe(true);
  });
});
