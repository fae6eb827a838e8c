import type {
  Batch,
  ClaimFairness,
  DeadLetter,
  QueuedEvent,
  WebhookStore,
  WebhookStoreStats,
} from '../webhook-store.js';

interface EndpointQueue {
  appId: string;
  endpointId: string;
  queue: QueuedEvent[];
  batch?: Batch;
  leaseOwner?: string;
  leaseUntil: number;
  /** Event ids seen recently, oldest first (dedup window). */
  seen: Set<string>;
}

const DEDUP_WINDOW = 10_000;
const MAX_DEAD_LETTERS_PER_APP = 10_000;

/**
 * In-process WebhookStore (standalone, tests). Durable only as long as the process: two dispatcher
 * instances sharing one instance model a dispatcher restart over a durable store. See WebhookStore.
 */
export class MemoryWebhookStore implements WebhookStore {
  private readonly endpoints = new Map<string, EndpointQueue>();
  private readonly dead = new Map<string, DeadLetter[]>();
  private readonly disabled = new Set<string>();

  private ep(appId: string, endpointId: string): EndpointQueue {
    const k = `${appId}\u0000${endpointId}`;
    let q = this.endpoints.get(k);
    if (!q) this.endpoints.set(k, (q = { appId, endpointId, queue: [], leaseUntil: 0, seen: new Set() }));
    return q;
  }

  enqueue(event: QueuedEvent, maxQueued: number): Promise<'queued' | 'duplicate' | 'overflow'> {
    const q = this.ep(event.appId, event.endpointId);
    if (q.seen.has(event.event.id)) return Promise.resolve('duplicate');
    q.seen.add(event.event.id);
    if (q.seen.size > DEDUP_WINDOW) q.seen.delete(q.seen.values().next().value as string);
    if (q.queue.length >= maxQueued) {
      this.addDead({ ...event, reason: 'overflow', attempts: 0, deadAt: event.queuedAt });
      return Promise.resolve('overflow');
    }
    q.queue.push(event);
    return Promise.resolve('queued');
  }

  claim(
    owner: string,
    now: number,
    leaseMs: number,
    limit: number,
    batching: { maxEvents: number; maxBytes: number; newId: () => string },
    fairness?: ClaimFairness,
  ): Promise<Batch[]> {
    const out: Batch[] = [];
    let due = [...this.endpoints.values()]
      .filter((q) => (q.batch || q.queue.length > 0) && q.leaseUntil <= now)
      .filter((q) => !q.batch || q.batch.nextAttemptAt <= now)
      .sort((a, b) => (a.batch?.nextAttemptAt ?? 0) - (b.batch?.nextAttemptAt ?? 0));
    if (fairness) {
      // Rank each endpoint within its app (most due first), keep what the app's share allows, and
      // take rank 0 of every app before rank 1 of any (stable: ties stay in due order).
      const rankInApp = new Map<string, number>();
      const ranked = due.map((q) => {
        const rank = rankInApp.get(q.appId) ?? 0;
        rankInApp.set(q.appId, rank + 1);
        return { q, rank };
      });
      due = ranked
        .filter(({ q, rank }) => rank < fairness.perApp - (fairness.inflight.get(q.appId) ?? 0))
        .sort((a, b) => a.rank - b.rank)
        .map(({ q }) => q);
    }
    for (const q of due) {
      if (out.length >= limit) break;
      if (!q.batch) {
        const events: QueuedEvent[] = [];
        let bytes = 0;
        while (q.queue.length > 0 && events.length < batching.maxEvents) {
          const next = q.queue[0];
          if (events.length > 0 && bytes + next.bytes > batching.maxBytes) break;
          events.push(q.queue.shift()!);
          bytes += next.bytes;
        }
        q.batch = {
          id: batching.newId(),
          appId: q.appId,
          endpointId: q.endpointId,
          events,
          attempts: 0,
          nextAttemptAt: now,
        };
      }
      q.leaseOwner = owner;
      q.leaseUntil = now + leaseMs;
      out.push(structuredClone(q.batch));
    }
    return Promise.resolve(out);
  }

  private owned(batch: Batch, owner: string): EndpointQueue | undefined {
    const q = this.endpoints.get(`${batch.appId}\u0000${batch.endpointId}`);
    // A lease that expired and was taken by another owner: this owner's result no longer counts.
    if (!q || q.leaseOwner !== owner || q.batch?.id !== batch.id) return undefined;
    return q;
  }

  private release(q: EndpointQueue): void {
    q.leaseOwner = undefined;
    q.leaseUntil = 0;
    if (!q.batch && q.queue.length === 0 && q.seen.size === 0)
      this.endpoints.delete(`${q.appId}\u0000${q.endpointId}`);
  }

  complete(batch: Batch, owner: string): Promise<void> {
    const q = this.owned(batch, owner);
    if (q) {
      q.batch = undefined;
      this.release(q);
    }
    return Promise.resolve();
  }

  retry(batch: Batch, owner: string, nextAttemptAt: number, error: string): Promise<void> {
    const q = this.owned(batch, owner);
    if (q?.batch) {
      q.batch.attempts = batch.attempts;
      q.batch.nextAttemptAt = nextAttemptAt;
      q.batch.lastError = error;
      this.release(q);
    }
    return Promise.resolve();
  }

  deadLetter(
    batch: Batch,
    owner: string,
    reason: string,
    now: number,
    wholeEndpoint = false,
  ): Promise<DeadLetter[]> {
    const q = this.owned(batch, owner);
    if (!q) return Promise.resolve([]);
    const events = [...batch.events, ...(wholeEndpoint ? q.queue.splice(0) : [])];
    const moved: DeadLetter[] = events.map((e) => ({
      appId: e.appId,
      endpointId: e.endpointId,
      event: e.event,
      reason,
      attempts: batch.attempts,
      deadAt: now,
      ...(batch.lastError ? { lastError: batch.lastError } : {}),
    }));
    for (const d of moved) this.addDead(d);
    q.batch = undefined;
    this.release(q);
    return Promise.resolve(moved);
  }

  private addDead(d: DeadLetter & Partial<QueuedEvent>): void {
    const list = this.dead.get(d.appId) ?? [];
    list.push({
      appId: d.appId,
      endpointId: d.endpointId,
      event: d.event,
      reason: d.reason,
      attempts: d.attempts,
      deadAt: d.deadAt,
      ...(d.lastError ? { lastError: d.lastError } : {}),
    });
    if (list.length > MAX_DEAD_LETTERS_PER_APP) list.shift();
    this.dead.set(d.appId, list);
  }

  nextDueAt(now: number): Promise<number | undefined> {
    let next: number | undefined;
    for (const q of this.endpoints.values()) {
      if (!q.batch && q.queue.length === 0) continue;
      const t = Math.max(q.leaseUntil, q.batch ? q.batch.nextAttemptAt : now);
      next = next === undefined ? t : Math.min(next, t);
    }
    return Promise.resolve(next);
  }

  listDeadLetters(appId: string, limit: number): Promise<DeadLetter[]> {
    return Promise.resolve([...(this.dead.get(appId) ?? [])].reverse().slice(0, limit));
  }

  replay(appId: string, now: number, eventIds?: readonly string[]): Promise<number> {
    const list = this.dead.get(appId) ?? [];
    const pick = (d: DeadLetter) => !eventIds || eventIds.includes(d.event.id);
    const chosen = list.filter(pick);
    this.dead.set(
      appId,
      list.filter((d) => !pick(d)),
    );
    for (const d of chosen) {
      const q = this.ep(appId, d.endpointId);
      q.queue.push({
        appId,
        endpointId: d.endpointId,
        event: d.event,
        queuedAt: now,
        bytes: JSON.stringify(d.event).length,
      });
    }
    return Promise.resolve(chosen.length);
  }

  disableEndpoint(appId: string, endpointId: string): Promise<void> {
    this.disabled.add(`${appId}\u0000${endpointId}`);
    return Promise.resolve();
  }

  enableEndpoint(appId: string, endpointId: string): Promise<void> {
    this.disabled.delete(`${appId}\u0000${endpointId}`);
    return Promise.resolve();
  }

  isDisabled(appId: string, endpointId: string): Promise<boolean> {
    return Promise.resolve(this.disabled.has(`${appId}\u0000${endpointId}`));
  }

  stats(): Promise<WebhookStoreStats> {
    let pending = 0;
    let retrying = 0;
    let oldest: number | undefined;
    for (const q of this.endpoints.values()) {
      const all = [...(q.batch?.events ?? []), ...q.queue];
      pending += all.length;
      if (q.batch && q.batch.attempts > 0) retrying++;
      for (const e of all) oldest = oldest === undefined ? e.queuedAt : Math.min(oldest, e.queuedAt);
    }
    let deadLetters = 0;
    for (const l of this.dead.values()) deadLetters += l.length;
    return Promise.resolve({
      pending,
      retrying,
      deadLetters,
      ...(oldest !== undefined ? { oldestPendingAt: oldest } : {}),
    });
  }
}
