import type { ManualClock } from '../manual-clock.js';
import { waitFor } from '../wait-for.js';

/**
 * What every contract suite's `setup` returns besides the port itself. `clock` present: the driver
 * reads time from it and the suite advances it (memory drivers). Absent: the driver runs on real
 * time (Redis, Kafka) and the suite uses short TTLs and polls for their effect.
 */
export interface ContractFixture {
  clock?: ManualClock;
  teardown(): Promise<void>;
}

/** `manualClock`: the fixture carries a clock the suite may advance (memory drivers). */
export interface ContractOptions {
  manualClock: boolean;
}

/**
 * TTL for time-dependent tests. Any value works with a manual clock; with real time it must be long
 * enough that "still there right after the write" holds on a loaded CI machine, and short enough
 * to wait out.
 */
export const TTL_MS = 400;

/** Jest timeout for tests that may wait for real TTLs or a real consumer group. */
export const SLOW_TEST_MS = 20_000;

/**
 * Lets `ttlMs` pass since the entries under test were written, then requires `gone()` to hold.
 * Manual clock: advances it just past `ttlMs`. Real time: polls `gone` with a bounded deadline.
 */
export async function expirePast(
  fixture: ContractFixture,
  ttlMs: number,
  gone: () => Promise<boolean>,
): Promise<void> {
  if (fixture.clock) {
    fixture.clock.advance(ttlMs + 1);
    expect(await gone()).toBe(true);
  } else {
    await waitFor(gone, { timeoutMs: ttlMs * 5 + 2000, message: `expiry after ${ttlMs} ms` });
  }
}

/**
 * Lets `ms` of time pass. Only for checks that have no non-destructive condition to poll (a ticket
 * can only be probed by taking it): with real time this waits on time itself, which is the event.
 */
export async function elapse(fixture: ContractFixture, ms: number): Promise<void> {
  if (fixture.clock) fixture.clock.advance(ms);
  else await new Promise<void>((resolve) => setTimeout(resolve, ms));
}

/** The fixture's manual clock, for tests registered only when the suite controls time. */
export function requireClock(fixture: ContractFixture): ManualClock {
  if (!fixture.clock) throw new Error('this check needs a manual clock (register it with manualClock: true)');
  return fixture.clock;
}
