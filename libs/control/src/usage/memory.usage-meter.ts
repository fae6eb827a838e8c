import type { UsageDelta, UsageMeter, UsageSnapshotProvider } from './usage.js';

interface Counters {
  connections: number;
  /** Highest `connections` since the last drain. */
  peak: number;
  published: number;
  delivered: number;
  pushesSent: number;
  totalPublished: number;
  totalDelivered: number;
  totalPushes: number;
}

/**
 * UsageMeter in memory: one small record per app, bumped synchronously (a Map lookup and an
 * increment per event, cheap enough for the fan-out path). `drain()` hands the deltas since the last
 * drain to whoever persists them (UsageFlusher) and starts the next period with the current
 * connections as its peak.
 */
export class MemoryUsageMeter implements UsageMeter, UsageSnapshotProvider {
  private readonly apps = new Map<string, Counters>();

  private of(appId: string): Counters {
    let c = this.apps.get(appId);
    if (!c) {
      c = {
        connections: 0,
        peak: 0,
        published: 0,
        delivered: 0,
        pushesSent: 0,
        totalPublished: 0,
        totalDelivered: 0,
        totalPushes: 0,
      };
      this.apps.set(appId, c);
    }
    return c;
  }

  connectionOpened(appId: string): void {
    const c = this.of(appId);
    c.connections++;
    if (c.connections > c.peak) c.peak = c.connections;
  }

  connectionClosed(appId: string): void {
    const c = this.of(appId);
    if (c.connections > 0) c.connections--;
  }

  published(appId: string, count = 1): void {
    const c = this.of(appId);
    c.published += count;
    c.totalPublished += count;
  }

  delivered(appId: string, count: number): void {
    if (count <= 0) return;
    const c = this.of(appId);
    c.delivered += count;
    c.totalDelivered += count;
  }

  pushSent(appId: string, count = 1): void {
    const c = this.of(appId);
    c.pushesSent += count;
    c.totalPushes += count;
  }

  /** Deltas since the previous drain, for apps with any activity or connections. */
  drain(): UsageDelta[] {
    const out: UsageDelta[] = [];
    for (const [appId, c] of this.apps) {
      if (c.peak === 0 && c.published === 0 && c.delivered === 0 && c.pushesSent === 0) {
        if (c.connections === 0 && c.totalPublished === 0 && c.totalDelivered === 0 && c.totalPushes === 0) {
          this.apps.delete(appId);
        }
        continue;
      }
      out.push({
        appId,
        peakConnections: c.peak,
        messagesPublished: c.published,
        messagesDelivered: c.delivered,
        pushesSent: c.pushesSent,
      });
      c.peak = c.connections;
      c.published = 0;
      c.delivered = 0;
      c.pushesSent = 0;
    }
    return out;
  }

  /** Puts deltas back after a failed flush, so nothing is lost (peaks merge by max). */
  restore(deltas: readonly UsageDelta[]): void {
    for (const d of deltas) {
      const c = this.of(d.appId);
      c.peak = Math.max(c.peak, d.peakConnections);
      c.published += d.messagesPublished;
      c.delivered += d.messagesDelivered;
      c.pushesSent += d.pushesSent;
    }
  }

  snapshot(): Map<string, { connections: number; published: number; delivered: number; pushesSent: number }> {
    const out = new Map<
      string,
      { connections: number; published: number; delivered: number; pushesSent: number }
    >();
    for (const [appId, c] of this.apps) {
      out.set(appId, {
        connections: c.connections,
        published: c.totalPublished,
        delivered: c.totalDelivered,
        pushesSent: c.totalPushes,
      });
    }
    return out;
  }
}
