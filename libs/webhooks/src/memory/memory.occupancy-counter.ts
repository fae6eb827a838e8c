import type { OccupancyCounter } from '../occupancy.js';

/** One process only (standalone). See OccupancyCounter for the contract. */
export class MemoryOccupancyCounter implements OccupancyCounter {
  private readonly entries = new Map<string, { count: number; announced: boolean }>();

  private get(appId: string, key: string) {
    const k = `${appId}\u0000${key}`;
    let e = this.entries.get(k);
    if (!e) this.entries.set(k, (e = { count: 0, announced: false }));
    return { k, e };
  }

  private tidy(k: string, e: { count: number; announced: boolean }): void {
    if (e.count === 0 && !e.announced) this.entries.delete(k);
  }

  add(appId: string, key: string, delta: 1 | -1): Promise<number> {
    const { k, e } = this.get(appId, key);
    e.count = Math.max(0, e.count + delta);
    const n = e.count;
    this.tidy(k, e);
    return Promise.resolve(n);
  }

  count(appId: string, key: string): Promise<number> {
    return Promise.resolve(this.entries.get(`${appId}\u0000${key}`)?.count ?? 0);
  }

  setAnnounced(appId: string, key: string, announced: boolean): Promise<boolean> {
    const { k, e } = this.get(appId, key);
    const prev = e.announced;
    e.announced = announced;
    this.tidy(k, e);
    return Promise.resolve(prev);
  }
}
