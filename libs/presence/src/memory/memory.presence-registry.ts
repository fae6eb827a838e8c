import type { OnModuleDestroy } from '@nestjs/common';
import type {
  ConnectionEntry,
  ExpiredMember,
  JoinResult,
  LeaveResult,
  PresenceMember,
  PresenceRegistry,
  PresenceStats,
} from '../presence-registry.js';

export interface MemoryPresenceRegistryOptions {
  /** Clock for every TTL decision; default Date.now. */
  now?: () => number;
  /** How often expired entries are dropped from memory; default 10 s. 0 disables the timer. */
  sweepIntervalMs?: number;
  /**
   * Expired members wait here until `sweep()` reports them. If nobody calls `sweep()`, the oldest
   * reports beyond this many are dropped so memory stays bounded; default 100 000.
   */
  maxPendingExpired?: number;
}

interface Expiring {
  expiresAt: number;
  ttlMs: number;
}

interface ConnRecord extends Expiring {
  kind: 'conn';
  app: AppState;
  entry: ConnectionEntry;
}

interface MemberRecord extends Expiring {
  kind: 'member';
  app: AppState;
  channel: ChannelState;
  member: PresenceMember;
}

type AnyRecord = ConnRecord | MemberRecord;

class ChannelState {
  readonly members = new Map<string, MemberRecord>();
  /** user → number of their connections in the channel. */
  readonly users = new Map<string, number>();
  constructor(readonly name: string) {}
}

class AppState {
  readonly connections = new Map<string, ConnRecord>();
  /** user → live connection ids. */
  readonly users = new Map<string, Set<string>>();
  readonly channels = new Map<string, ChannelState>();
  /** client → channels it is a member of, for removeConnection. */
  readonly memberships = new Map<string, Set<string>>();
  constructor(readonly id: string) {}
}

/**
 * Entries grouped by TTL. Within one group, (re)insertion order is expiry order as long as the clock
 * does not step back, so expired entries are found from the front in O(expired): counts stay exact
 * under lazy expiry without scanning. Presence TTLs come from config, so there are one or two groups.
 */
class ExpiryIndex<E extends Expiring> {
  private readonly groups = new Map<number, Set<E>>();

  touch(e: E, ttlMs: number, now: number): void {
    this.delete(e);
    e.ttlMs = ttlMs;
    e.expiresAt = now + ttlMs;
    let group = this.groups.get(ttlMs);
    if (!group) {
      group = new Set();
      this.groups.set(ttlMs, group);
    }
    group.add(e);
  }

  delete(e: E): void {
    const group = this.groups.get(e.ttlMs);
    if (group?.delete(e) && group.size === 0) this.groups.delete(e.ttlMs);
  }

  /** Removes expired entries and appends them to `out`. */
  popExpired(now: number, out: E[]): void {
    for (const [ttl, group] of this.groups) {
      for (const e of group) {
        if (e.expiresAt > now) break;
        group.delete(e);
        out.push(e);
      }
      if (group.size === 0) this.groups.delete(ttl);
    }
  }
}

/**
 * PresenceRegistry in process memory (see the port for the guarantees). Every method first drops
 * what expired (cheap: see ExpiryIndex), so reads and counts never include expired entries; expired
 * channel members are kept aside until `sweep()` reports them, each exactly once.
 */
export class MemoryPresenceRegistry implements PresenceRegistry, OnModuleDestroy {
  private readonly now: () => number;
  private readonly maxPending: number;
  private readonly apps = new Map<string, AppState>();
  private readonly expiry = new ExpiryIndex<AnyRecord>();
  private pending: ExpiredMember[] = [];
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(options: MemoryPresenceRegistryOptions = {}) {
    this.now = options.now ?? Date.now;
    this.maxPending = options.maxPendingExpired ?? 100_000;
    const interval = options.sweepIntervalMs ?? 10_000;
    if (interval > 0) {
      this.timer = setInterval(() => this.expire(), interval);
      this.timer.unref();
    }
  }

  async addConnection(appId: string, conn: ConnectionEntry, ttlMs: number): Promise<void> {
    const now = this.expire();
    const app = this.app(appId);
    let rec = app.connections.get(conn.client);
    if (rec) {
      if (rec.entry.user !== conn.user) this.unindexUser(app, rec);
      rec.entry = { ...conn };
    } else {
      rec = { kind: 'conn', app, entry: { ...conn }, expiresAt: 0, ttlMs: 0 };
      app.connections.set(conn.client, rec);
    }
    let clients = app.users.get(conn.user);
    if (!clients) {
      clients = new Set();
      app.users.set(conn.user, clients);
    }
    clients.add(conn.client);
    this.expiry.touch(rec, ttlMs, now);
  }

  async removeConnection(appId: string, client: string): Promise<void> {
    this.expire();
    const app = this.apps.get(appId);
    if (!app) return;
    const rec = app.connections.get(client);
    if (rec) this.removeConn(rec);
    const channels = app.memberships.get(client);
    if (channels) {
      for (const name of [...channels]) {
        const member = app.channels.get(name)?.members.get(client);
        if (member) this.removeMember(member);
      }
    }
    this.dropIfEmpty(app);
  }

  async refresh(appId: string, client: string, channels: readonly string[], ttlMs: number): Promise<void> {
    const now = this.expire();
    const app = this.apps.get(appId);
    if (!app) return;
    const rec = app.connections.get(client);
    if (rec) this.expiry.touch(rec, ttlMs, now);
    for (const name of channels) {
      const member = app.channels.get(name)?.members.get(client);
      if (member) this.expiry.touch(member, ttlMs, now);
    }
  }

  async isUserOnline(appId: string, user: string): Promise<boolean> {
    return (await this.countUserConnections(appId, user)) > 0;
  }

  async countUserConnections(appId: string, user: string): Promise<number> {
    this.expire();
    return this.apps.get(appId)?.users.get(user)?.size ?? 0;
  }

  async countConnections(appId: string): Promise<number> {
    this.expire();
    return this.apps.get(appId)?.connections.size ?? 0;
  }

  async join(appId: string, channel: string, member: PresenceMember, ttlMs: number): Promise<JoinResult> {
    const now = this.expire();
    const app = this.app(appId);
    let ch = app.channels.get(channel);
    if (!ch) {
      ch = new ChannelState(channel);
      app.channels.set(channel, ch);
    }
    const existing = ch.members.get(member.client);
    if (existing && existing.member.user === member.user) {
      // A re-join of the same connection refreshes it and updates its info.
      existing.member = copyMember(member);
      this.expiry.touch(existing, ttlMs, now);
      return { userJoined: false, numClients: ch.members.size };
    }
    if (existing) this.removeMember(existing);
    const rec: MemberRecord = {
      kind: 'member',
      app,
      channel: ch,
      member: copyMember(member),
      expiresAt: 0,
      ttlMs: 0,
    };
    ch.members.set(member.client, rec);
    const userClients = ch.users.get(member.user) ?? 0;
    ch.users.set(member.user, userClients + 1);
    let memberships = app.memberships.get(member.client);
    if (!memberships) {
      memberships = new Set();
      app.memberships.set(member.client, memberships);
    }
    memberships.add(channel);
    if (!app.channels.has(channel)) app.channels.set(channel, ch); // removeMember may have dropped it
    this.expiry.touch(rec, ttlMs, now);
    return { userJoined: userClients === 0, numClients: ch.members.size };
  }

  async leave(appId: string, channel: string, client: string): Promise<LeaveResult> {
    this.expire();
    const app = this.apps.get(appId);
    const rec = app?.channels.get(channel)?.members.get(client);
    if (!app || !rec) return { removed: false, userLeft: false };
    const userLeft = this.removeMember(rec);
    this.dropIfEmpty(app);
    return { removed: true, userLeft };
  }

  async members(appId: string, channel: string): Promise<PresenceMember[]> {
    this.expire();
    const ch = this.apps.get(appId)?.channels.get(channel);
    return ch ? [...ch.members.values()].map((rec) => copyMember(rec.member)) : [];
  }

  async stats(appId: string, channel: string): Promise<PresenceStats> {
    this.expire();
    const ch = this.apps.get(appId)?.channels.get(channel);
    return { numClients: ch?.members.size ?? 0, numUsers: ch?.users.size ?? 0 };
  }

  async sweep(): Promise<ExpiredMember[]> {
    this.expire();
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /** Entries held (for boundedness tests and metrics). */
  size(): { apps: number; connections: number; members: number; pendingExpired: number } {
    let connections = 0;
    let members = 0;
    for (const app of this.apps.values()) {
      connections += app.connections.size;
      for (const ch of app.channels.values()) members += ch.members.size;
    }
    return { apps: this.apps.size, connections, members, pendingExpired: this.pending.length };
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  onModuleDestroy(): void {
    this.close();
  }

  /** Drops everything expired, queueing expired members for `sweep()`; returns the current time. */
  private expire(): number {
    const now = this.now();
    const expired: AnyRecord[] = [];
    this.expiry.popExpired(now, expired);
    for (const rec of expired) {
      if (rec.kind === 'conn') {
        this.removeConn(rec);
      } else {
        const userLeft = this.removeMember(rec);
        if (this.pending.length >= this.maxPending) this.pending.shift();
        this.pending.push({ ...rec.member, appId: rec.app.id, channel: rec.channel.name, userLeft });
      }
      this.dropIfEmpty(rec.app);
    }
    return now;
  }

  private app(appId: string): AppState {
    let app = this.apps.get(appId);
    if (!app) {
      app = new AppState(appId);
      this.apps.set(appId, app);
    }
    return app;
  }

  private removeConn(rec: ConnRecord): void {
    this.expiry.delete(rec);
    rec.app.connections.delete(rec.entry.client);
    this.unindexUser(rec.app, rec);
  }

  private unindexUser(app: AppState, rec: ConnRecord): void {
    const clients = app.users.get(rec.entry.user);
    if (clients?.delete(rec.entry.client) && clients.size === 0) app.users.delete(rec.entry.user);
  }

  /** Removes a live member; returns whether it was the user's last connection in the channel. */
  private removeMember(rec: MemberRecord): boolean {
    const { app, channel: ch, member } = rec;
    this.expiry.delete(rec);
    ch.members.delete(member.client);
    const left = (ch.users.get(member.user) ?? 1) - 1;
    if (left > 0) ch.users.set(member.user, left);
    else ch.users.delete(member.user);
    const memberships = app.memberships.get(member.client);
    if (memberships?.delete(ch.name) && memberships.size === 0) app.memberships.delete(member.client);
    if (ch.members.size === 0) app.channels.delete(ch.name);
    return left === 0;
  }

  private dropIfEmpty(app: AppState): void {
    if (app.connections.size === 0 && app.channels.size === 0 && this.apps.get(app.id) === app) {
      this.apps.delete(app.id);
    }
  }
}

function copyMember(m: PresenceMember): PresenceMember {
  return m.info === undefined
    ? { client: m.client, user: m.user }
    : { client: m.client, user: m.user, info: m.info };
}
