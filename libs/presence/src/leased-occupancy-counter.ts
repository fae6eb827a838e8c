import { randomBytes } from 'node:crypto';
import type { OccupancyCounter, OccupancyEntry, VacatedKey } from './occupancy-counter.js';

/** One of this node's contributions, as put back under a new lease. */
export interface Contribution {
  appId: string;
  key: string;
  count: number;
}

/** Most contributions sent to the driver per `restore` call. */
const RESTORE_BATCH = 500;

/**
 * The lease semantics of OccupancyCounter, once for every driver (drivers only speak the wire).
 *
 * A node's contributions are held under an incarnation id (`<node>#<random>`), registered with a
 * lease. When the driver says the incarnation is gone (a sweeper found its lease expired and took
 * its contributions away), the node takes a new incarnation and puts back what it knows it holds:
 * it keeps its own contributions in memory (one number per key it contributes to), so a node that
 * was only paused (GC, network blip) ends up counted again. While that happens, adds wait.
 */
export abstract class LeasedOccupancyCounter implements OccupancyCounter {
  private incarnation: string;
  private registered = false;
  private ready: Promise<void> = Promise.resolve();
  /** This node's contributions, `<app>\0<key>` → count (> 0). */
  private readonly mine = new Map<string, Contribution>();

  protected constructor(
    protected readonly node: string,
    protected readonly leaseMs: number,
  ) {
    this.incarnation = this.newIncarnation();
  }

  // --- the wire (one atomic step each) -----------------------------------------------------------

  /** Applies `delta` to the incarnation's contribution; 'lost' when it holds no lease. */
  protected abstract addAs(inc: string, appId: string, key: string, delta: 1 | -1): Promise<number | 'lost'>;
  /** Extends the lease (`register`: creates it); false when it is gone and `register` is false. */
  protected abstract renewAs(inc: string, register: boolean): Promise<boolean>;
  /** Sets contributions of a freshly registered incarnation; false when its lease is gone. */
  protected abstract restoreAs(inc: string, entries: Contribution[]): Promise<boolean>;
  abstract count(appId: string, key: string): Promise<number>;
  abstract setAnnounced(appId: string, key: string, announced: boolean): Promise<boolean>;
  abstract list(appId: string, prefix: string, limit: number): Promise<OccupancyEntry[]>;
  abstract sweep(): Promise<VacatedKey[]>;

  // --- lease handling ----------------------------------------------------------------------------

  async add(appId: string, key: string, delta: 1 | -1): Promise<number> {
    // Bounded: a lease lost three times in a row within one call means Redis keeps losing state.
    for (let attempt = 0; attempt < 3; attempt++) {
      await this.ready.catch(() => undefined);
      const inc = this.incarnation;
      if (!this.registered) {
        await this.reincarnate(inc);
        continue;
      }
      const total = await this.addAs(inc, appId, key, delta);
      if (total === 'lost') {
        await this.reincarnate(inc);
        continue;
      }
      const k = `${appId}\u0000${key}`;
      const n = Math.max(0, (this.mine.get(k)?.count ?? 0) + delta);
      if (n === 0) this.mine.delete(k);
      else this.mine.set(k, { appId, key, count: n });
      return total;
    }
    throw new Error('occupancy lease lost repeatedly');
  }

  async heartbeat(): Promise<void> {
    await this.ready.catch(() => undefined);
    if (!this.registered) return;
    const inc = this.incarnation;
    if (!(await this.renewAs(inc, false))) await this.reincarnate(inc);
  }

  /** This node's contributions (tests, diagnostics). */
  contributions(): Contribution[] {
    return [...this.mine.values()];
  }

  /** The incarnation `failed` is gone: register a new one and put this node's counts back, once. */
  private reincarnate(failed: string): Promise<void> {
    if (failed !== this.incarnation) return this.ready;
    const inc = (this.incarnation = this.newIncarnation());
    this.ready = (async () => {
      await this.renewAs(inc, true);
      const entries = [...this.mine.values()];
      for (let i = 0; i < entries.length; i += RESTORE_BATCH) {
        if (!(await this.restoreAs(inc, entries.slice(i, i + RESTORE_BATCH))))
          throw new Error('occupancy lease lost while restoring');
      }
      this.registered = true;
    })().catch((err: unknown) => {
      // The next add or heartbeat starts over with yet another incarnation.
      if (this.incarnation === inc) this.incarnation = this.newIncarnation();
      throw err;
    });
    return this.ready;
  }

  private newIncarnation(): string {
    return `${this.node}#${randomBytes(6).toString('hex')}`;
  }
}
