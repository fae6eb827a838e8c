import type { ClaimedPushJob, PushStateStore } from '../push-state-store.js';

/** Entries per app beyond which expired ones are swept on write (keeps memory bounded). */
const SWEEP_EVERY = 1024;

/** PushStateStore in process memory (one node); see the port for the guarantees. */
export class MemoryPushStateStore implements PushStateStore {
  private readonly entries = new Map<
    string,
    Map<string, { value: 'ack' | 'claim' | 'sent'; expiresAt: number }>
  >();
  private writes = 0;
  /** Parked jobs per app: id → due time and job. */
  private readonly parked = new Map<string, Map<string, { dueAt: number; job: string }>>();

  constructor(private readonly now: () => number = Date.now) {}

  async ack(appId: string, user: string, messageId: string, ttlMs: number): Promise<void> {
    this.set(appId, `a\u0000${user}\u0000${messageId}`, 'ack', ttlMs);
  }

  async isAcked(appId: string, user: string, messageId: string): Promise<boolean> {
    return this.get(appId, `a\u0000${user}\u0000${messageId}`) === 'ack';
  }

  async begin(
    appId: string,
    messageId: string,
    device: string,
    leaseMs: number,
  ): Promise<'claimed' | 'sent' | 'busy'> {
    const key = `s\u0000${messageId}\u0000${device}`;
    const current = this.get(appId, key);
    if (current === 'sent') return 'sent';
    if (current === 'claim') return 'busy';
    this.set(appId, key, 'claim', leaseMs);
    return 'claimed';
  }

  async markSent(appId: string, messageId: string, device: string, ttlMs: number): Promise<void> {
    this.set(appId, `s\u0000${messageId}\u0000${device}`, 'sent', ttlMs);
  }

  async release(appId: string, messageId: string, device: string): Promise<void> {
    const key = `s\u0000${messageId}\u0000${device}`;
    if (this.get(appId, key) === 'claim') this.entries.get(appId)?.delete(key);
  }

  async park(appId: string, id: string, dueAt: number, job: string): Promise<void> {
    let m = this.parked.get(appId);
    if (!m) this.parked.set(appId, (m = new Map()));
    m.set(id, { dueAt, job });
  }

  // Synchronous between its awaits: concurrent calls in one process claim each job once.
  async claimDue(now: number, limit: number, leaseMs: number): Promise<ClaimedPushJob[]> {
    const due: { appId: string; id: string; dueAt: number; job: string }[] = [];
    for (const [appId, m] of this.parked)
      for (const [id, e] of m) if (e.dueAt <= now) due.push({ appId, id, ...e });
    due.sort((x, y) => x.dueAt - y.dueAt);
    const lease = now + Math.max(1, leaseMs);
    return due.slice(0, Math.max(0, limit)).map((e) => {
      this.parked.get(e.appId)?.set(e.id, { dueAt: lease, job: e.job });
      return { appId: e.appId, id: e.id, job: e.job, lease };
    });
  }

  async unpark(appId: string, id: string, lease: number): Promise<void> {
    const m = this.parked.get(appId);
    if (m?.get(id)?.dueAt !== lease) return;
    m.delete(id);
    if (m.size === 0) this.parked.delete(appId);
  }

  async listParked(appId: string, limit: number): Promise<{ id: string; dueAt: number }[]> {
    return [...(this.parked.get(appId) ?? [])]
      .map(([id, e]) => ({ id, dueAt: e.dueAt }))
      .sort((x, y) => x.dueAt - y.dueAt)
      .slice(0, Math.max(0, limit));
  }

  private get(appId: string, key: string): 'ack' | 'claim' | 'sent' | undefined {
    const e = this.entries.get(appId)?.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      this.entries.get(appId)?.delete(key);
      return undefined;
    }
    return e.value;
  }

  private set(appId: string, key: string, value: 'ack' | 'claim' | 'sent', ttlMs: number): void {
    let m = this.entries.get(appId);
    if (!m) this.entries.set(appId, (m = new Map()));
    m.set(key, { value, expiresAt: this.now() + ttlMs });
    if (++this.writes % SWEEP_EVERY === 0) this.sweep();
  }

  private sweep(): void {
    const now = this.now();
    for (const [appId, m] of this.entries) {
      for (const [k, e] of m) if (e.expiresAt <= now) m.delete(k);
      if (m.size === 0) this.entries.delete(appId);
    }
  }
}
