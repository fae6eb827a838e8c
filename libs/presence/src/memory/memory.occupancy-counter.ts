import { LeasedOccupancyCounter, type Contribution } from '../leased-occupancy-counter.js';
import { DEFAULT_OCCUPANCY_LEASE_MS, type OccupancyEntry, type VacatedKey } from '../occupancy-counter.js';

interface Entry {
  appId: string;
  key: string;
  /** incarnation → contribution (> 0) */
  fields: Map<string, number>;
  total: number;
  announced: boolean;
}

/**
 * The shared state of memory counters: one per process. Several counters on one data object stand
 * for several nodes (tests); in a standalone process there is one node, which never dies.
 */
export class MemoryOccupancyData {
  /** incarnation → lease expiry (ms) */
  readonly leases = new Map<string, number>();
  /** incarnation → entry ids it contributes to */
  readonly held = new Map<string, Set<string>>();
  readonly entries = new Map<string, Entry>();
}

export interface MemoryOccupancyCounterOptions {
  /** Node id (default `local`). */
  node?: string;
  leaseMs?: number;
  /** Clock (tests pass a ManualClock's `now`). */
  now?: () => number;
  /** Shared with other counters standing for other nodes; default: a data object of its own. */
  data?: MemoryOccupancyData;
}

const utf8Order = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** One process (standalone, tests). See OccupancyCounter for the contract. */
export class MemoryOccupancyCounter extends LeasedOccupancyCounter {
  private readonly now: () => number;
  private readonly data: MemoryOccupancyData;

  constructor(options: MemoryOccupancyCounterOptions = {}) {
    super(options.node ?? 'local', options.leaseMs ?? DEFAULT_OCCUPANCY_LEASE_MS);
    this.now = options.now ?? Date.now;
    this.data = options.data ?? new MemoryOccupancyData();
  }

  private entry(appId: string, key: string): { id: string; e: Entry } {
    const id = `${appId}\u0000${key}`;
    let e = this.data.entries.get(id);
    if (!e) this.data.entries.set(id, (e = { appId, key, fields: new Map(), total: 0, announced: false }));
    return { id, e };
  }

  private tidy(id: string, e: Entry): void {
    if (e.total === 0 && !e.announced) this.data.entries.delete(id);
  }

  protected addAs(inc: string, appId: string, key: string, delta: 1 | -1): Promise<number | 'lost'> {
    if (!this.data.leases.has(inc)) return Promise.resolve('lost');
    const { id, e } = this.entry(appId, key);
    const cur = e.fields.get(inc) ?? 0;
    const next = Math.max(0, cur + delta);
    const held = this.data.held.get(inc) ?? new Set<string>();
    this.data.held.set(inc, held);
    if (next === 0) {
      e.fields.delete(inc);
      held.delete(id);
    } else {
      e.fields.set(inc, next);
      held.add(id);
    }
    e.total += next - cur;
    const total = e.total;
    this.tidy(id, e);
    return Promise.resolve(total);
  }

  protected renewAs(inc: string, register: boolean): Promise<boolean> {
    if (!register && !this.data.leases.has(inc)) return Promise.resolve(false);
    this.data.leases.set(inc, this.now() + this.leaseMs);
    return Promise.resolve(true);
  }

  protected restoreAs(inc: string, entries: Contribution[]): Promise<boolean> {
    if (!this.data.leases.has(inc)) return Promise.resolve(false);
    const held = this.data.held.get(inc) ?? new Set<string>();
    this.data.held.set(inc, held);
    for (const c of entries) {
      const { id, e } = this.entry(c.appId, c.key);
      e.total += c.count - (e.fields.get(inc) ?? 0);
      e.fields.set(inc, c.count);
      held.add(id);
    }
    return Promise.resolve(true);
  }

  count(appId: string, key: string): Promise<number> {
    return Promise.resolve(this.data.entries.get(`${appId}\u0000${key}`)?.total ?? 0);
  }

  setAnnounced(appId: string, key: string, announced: boolean): Promise<boolean> {
    const { id, e } = this.entry(appId, key);
    const prev = e.announced;
    e.announced = announced;
    this.tidy(id, e);
    return Promise.resolve(prev);
  }

  list(appId: string, prefix: string, limit: number): Promise<OccupancyEntry[]> {
    const out: OccupancyEntry[] = [];
    for (const e of this.data.entries.values())
      if (e.appId === appId && e.total > 0 && e.key.startsWith(prefix))
        out.push({ key: e.key, count: e.total });
    return Promise.resolve(out.sort((a, b) => utf8Order(a.key, b.key)).slice(0, Math.max(1, limit)));
  }

  sweep(): Promise<VacatedKey[]> {
    const now = this.now();
    const out: VacatedKey[] = [];
    for (const [inc, expiry] of this.data.leases) {
      if (expiry > now) continue;
      this.data.leases.delete(inc);
      for (const id of this.data.held.get(inc) ?? []) {
        const e = this.data.entries.get(id);
        const n = e?.fields.get(inc);
        if (!e || n === undefined) continue;
        e.fields.delete(inc);
        e.total -= n;
        if (e.total === 0) {
          out.push({ appId: e.appId, key: e.key });
          this.tidy(id, e);
        }
      }
      this.data.held.delete(inc);
    }
    return Promise.resolve(out);
  }
}
