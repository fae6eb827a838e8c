/**
 * Coalesces writes: a transport that queued frames during this tick registers once, and all of
 * them are flushed together in one `setImmediate`, so every frame a connection gets in one tick
 * goes out in one write (DESIGN.md "Hot path").
 */
export interface Flushable {
  flush(): void;
}

export class WriteScheduler {
  private dirty: Flushable[] = [];
  private scheduled = false;

  schedule(target: Flushable): void {
    this.dirty.push(target);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  private readonly run = (): void => {
    const batch = this.dirty;
    this.dirty = [];
    this.scheduled = false;
    for (let i = 0; i < batch.length; i++) batch[i].flush();
  };
}
