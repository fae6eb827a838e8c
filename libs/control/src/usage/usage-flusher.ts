import type { MemoryUsageMeter } from './memory.usage-meter.js';
import { utcDay, type UsageStore } from './usage.js';

/**
 * Writes the meter's deltas to the UsageStore every interval and once more on shutdown. A failed
 * write puts the deltas back into the meter (counted again at the next flush), so a database
 * outage delays usage but loses none of it while the process lives.
 */
export class UsageFlusher {
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly meter: MemoryUsageMeter,
    private readonly store: UsageStore,
    private readonly nodeId: string,
    private readonly onError: (err: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  /** Flushes now; concurrent calls run one after another. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const deltas = this.meter.drain();
      if (deltas.length === 0) return;
      try {
        await this.store.record(this.nodeId, utcDay(this.now()), deltas);
      } catch (err) {
        this.meter.restore(deltas);
        this.onError(err);
      }
    });
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
