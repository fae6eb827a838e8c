import { ManualClock, occupancyCounterContract } from '@herald/testing';
import { MemoryOccupancyCounter, MemoryOccupancyData } from './memory.occupancy-counter.js';

occupancyCounterContract('MemoryOccupancyCounter', () => {
  // Several counters on one data object stand for several nodes; the manual clock expires leases.
  const clock = new ManualClock();
  const data = new MemoryOccupancyData();
  const leaseMs = 1000;
  let n = 0;
  const node = () => new MemoryOccupancyCounter({ node: `n${++n}`, leaseMs, now: clock.now, data });
  return Promise.resolve({
    counter: node(),
    another: () => Promise.resolve(node()),
    leaseMs,
    advance: (ms: number) => clock.advance(ms),
    teardown: () => Promise.resolve(),
  });
});

describe('MemoryOccupancyCounter', () => {
  it('a standalone node that keeps its lease is never swept', async () => {
    const clock = new ManualClock();
    const counter = new MemoryOccupancyCounter({ leaseMs: 1000, now: clock.now });
    await counter.add('a', 'c:room', 1);
    for (let i = 0; i < 10; i++) {
      clock.advance(400);
      await counter.heartbeat();
      expect(await counter.sweep()).toEqual([]);
    }
    expect(await counter.count('a', 'c:room')).toBe(1);
  });
});
