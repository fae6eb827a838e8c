import { ManualClock } from './manual-clock.js';
import { deferred, waitFor } from './wait-for.js';

describe('waitFor', () => {
  it('resolves as soon as the predicate holds, sync or async', async () => {
    let n = 0;
    await waitFor(() => ++n === 3);
    expect(n).toBe(3);
    await waitFor(async () => ++n === 5);
    expect(n).toBe(5);
  });

  it('rejects after the deadline, saying what it waited for', async () => {
    await expect(waitFor(() => false, { timeoutMs: 20, message: 'the thing' })).rejects.toThrow(
      'waitFor: timed out after 20 ms: the thing',
    );
  });
});

describe('deferred', () => {
  it('settles from outside', async () => {
    const d = deferred<number>();
    d.resolve(7);
    await expect(d.promise).resolves.toBe(7);
    const e = deferred();
    e.reject(new Error('x'));
    await expect(e.promise).rejects.toThrow('x');
  });
});

describe('ManualClock', () => {
  it('moves only when advanced, and never backwards', () => {
    const clock = new ManualClock(1000);
    const now = clock.now;
    expect(now()).toBe(1000);
    clock.advance(250);
    expect(now()).toBe(1250);
    expect(() => clock.advance(-1)).toThrow(RangeError);
  });
});
