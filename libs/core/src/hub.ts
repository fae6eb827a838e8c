import {
  Global,
  Inject,
  Injectable,
  Module,
  Logger,
  Optional,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { BUS, Topics, type Bus, type BusRecord, type BusSubscription } from '@herald/bus';
import { CONTROL_CACHE, USAGE_METER, type ControlCache, type UsageMeter } from '@herald/control';
import { HISTORY_STORE, type HistoryStore } from '@herald/history';
import { DisconnectCode, type DisconnectDef, type StreamPosition } from '@herald/protocol';
import { ChannelStream } from './channel-stream.js';
import { decodeChannelRecord, decodeControl, type ControlMessage } from './envelope.js';
import { OutFrame } from './out-frame.js';
import { fanoutLatency, hubStats } from './core-stats.js';
import type { Session } from './session.js';

const SEP = '\u0000';

/** Provided (by ClientDeliveryModule) in processes that deliver publications to clients. */
export const CLIENT_DELIVERY = Symbol('ClientDelivery');

/** Imported by the client transports: makes this process's Hub consume the publications topic. */
@Global()
@Module({ providers: [{ provide: CLIENT_DELIVERY, useValue: true }], exports: [CLIENT_DELIVERY] })
export class ClientDeliveryModule {}

/**
 * This node's local subscriptions and connections, and the consumer of the publication and control
 * topics: every record is decoded once and its frame handed to the channel's stream, which fans
 * the same bytes out to every local subscriber.
 */
@Injectable()
export class Hub implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('Hub');
  private readonly streams = new Map<string, ChannelStream>();
  private readonly sessions = new Map<string, Session>();
  /** One session, or a Set once a user has several on this node (most users have one). */
  private readonly byUser = new Map<string, Session | Set<Session>>();
  private readonly subscriptions: BusSubscription[] = [];

  constructor(
    @Inject(BUS) private readonly bus: Bus,
    @Inject(HISTORY_STORE) private readonly history: HistoryStore,
    /** The node's tenant cache (SQL control stores); dropped per app on `app_changed`. */
    @Optional() @Inject(CONTROL_CACHE) private readonly controlCache?: ControlCache,
    /** Usage metering: connections and deliveries on this node. */
    @Optional() @Inject(USAGE_METER) private readonly usage?: UsageMeter,
    /** Present where client transports run (standalone, gateway); see ClientDeliveryModule. */
    @Optional() @Inject(CLIENT_DELIVERY) private readonly delivery?: boolean,
  ) {}

  async onModuleInit(): Promise<void> {
    // Only processes that hold client connections read every publication: an api replica or a
    // dispatcher would pay the full Kafka egress and decode cost for nothing (docs/scaling.md).
    if (this.delivery) {
      this.subscriptions.push(
        await this.bus.subscribe(Topics.PUBLICATIONS, {}, async (r) => this.onPublicationRecord(r)),
      );
    }
    this.subscriptions.push(
      await this.bus.subscribe(Topics.CONTROL, {}, async (r) => this.onControlRecord(r)),
    );
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.close()));
  }

  // --- sessions -------------------------------------------------------------------------------

  addSession(session: Session): void {
    if (!this.sessions.has(session.id)) this.usage?.connectionOpened(session.app.id);
    this.sessions.set(session.id, session);
    const key = session.app.id + SEP + session.user;
    const found = this.byUser.get(key);
    if (found === undefined) this.byUser.set(key, session);
    else if (found instanceof Set) found.add(session);
    else if (found !== session) this.byUser.set(key, new Set([found, session]));
  }

  /** Drops the session and all its local subscriptions. */
  removeSession(session: Session): void {
    for (const channel of session.subs.keys()) this.leaveStream(session, channel);
    if (!this.sessions.delete(session.id)) return;
    this.usage?.connectionClosed(session.app.id);
    const key = session.app.id + SEP + session.user;
    const found = this.byUser.get(key);
    if (found === session) {
      this.byUser.delete(key);
    } else if (found instanceof Set) {
      found.delete(session);
      if (found.size === 1) this.byUser.set(key, found.values().next().value as Session);
    }
  }

  /** Changes a connected session's user (Pusher `pusher:signin`), keeping its subscriptions. */
  setUser(session: Session, user: string): void {
    if (!this.sessions.has(session.id)) {
      session.user = user;
      return;
    }
    const key = session.app.id + SEP + session.user;
    const found = this.byUser.get(key);
    if (found === session) this.byUser.delete(key);
    else if (found instanceof Set) {
      found.delete(session);
      if (found.size === 1) this.byUser.set(key, found.values().next().value as Session);
    }
    session.user = user;
    const next = session.app.id + SEP + user;
    const other = this.byUser.get(next);
    if (other === undefined) this.byUser.set(next, session);
    else if (other instanceof Set) other.add(session);
    else if (other !== session) this.byUser.set(next, new Set([other, session]));
  }

  sessionsOf(appId: string, user: string): Session[] {
    const found = this.byUser.get(appId + SEP + user);
    if (found === undefined) return [];
    return found instanceof Set ? [...found] : [found];
  }

  allSessions(): IterableIterator<Session> {
    return this.sessions.values();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  // --- subscriptions --------------------------------------------------------------------------

  /** Subscribes to a channel without history (at-most-once): live from now on. */
  subscribeLive(session: Session, channel: string): void {
    this.stream(session.app.id, channel).subscribers.add(session);
  }

  /**
   * Subscribes to a channel with history: publications arriving while `readPosition` runs are held
   * for the session. Call the returned `activate` right after the subscribe reply was queued.
   */
  async subscribeOrdered<T extends { position: StreamPosition }>(
    session: Session,
    channel: string,
    readPosition: () => Promise<T>,
  ): Promise<{ value: T; activate: () => void }> {
    const stream = this.stream(session.app.id, channel);
    stream.addJoiner(session);
    try {
      const value = await readPosition();
      return { value, activate: () => stream.completeJoin(session, value.position) };
    } catch (err) {
      this.leaveStream(session, channel);
      throw err;
    }
  }

  leaveStream(session: Session, channel: string): void {
    const key = session.app.id + SEP + channel;
    const stream = this.streams.get(key);
    if (!stream) return;
    stream.remove(session);
    if (stream.size === 0) this.streams.delete(key);
  }

  /** Channels with local subscribers, and their counts. */
  channels(appId: string, prefix = ''): { channel: string; subscribers: number }[] {
    const out: { channel: string; subscribers: number }[] = [];
    const start = appId + SEP + prefix;
    for (const [key, stream] of this.streams) {
      if (key.startsWith(start) && stream.size > 0)
        out.push({ channel: stream.channel, subscribers: stream.size });
    }
    return out.sort((a, b) => (a.channel < b.channel ? -1 : 1));
  }

  private stream(appId: string, channel: string): ChannelStream {
    const key = appId + SEP + channel;
    let stream = this.streams.get(key);
    if (!stream) {
      stream = new ChannelStream(
        appId,
        channel,
        async (since, limit) => this.history.read(appId, channel, { since, limit }),
        (sessions) => this.closeAll(sessions, DisconnectCode.INSUFFICIENT_STATE),
      );
      this.streams.set(key, stream);
    }
    return stream;
  }

  private closeAll(sessions: Session[], def: DisconnectDef): void {
    for (const s of sessions) s.transport.close(def);
  }

  // --- bus consumers --------------------------------------------------------------------------

  private onPublicationRecord(record: BusRecord): void {
    hubStats.add('publications');
    const { header, frameJson } = decodeChannelRecord(record.value);
    const stream = this.streams.get(header.a + SEP + header.c);
    if (!stream) return;
    // A microtask: observed once the synchronous fan-out below has queued every frame.
    const acceptedAt = header.k === 'pub' ? header.t : undefined;
    if (acceptedAt !== undefined)
      queueMicrotask(() => fanoutLatency.observe((Date.now() - acceptedAt) / 1000));
    // Usage counts publications reaching subscribers (usage.ts); join/leave pushes are not messages.
    if (header.k === 'pub') this.usage?.delivered(header.a, stream.size);
    if (header.k === 'pub' && header.o !== undefined && header.e !== undefined) {
      const pos = { channel: header.c, offset: header.o, epoch: header.e };
      const frame = new OutFrame(frameJson, pos);
      if (header.x !== undefined) frame.exclude = header.x;
      stream.onPublication(header.o, header.e, frame);
    } else {
      const frame = new OutFrame(frameJson);
      if (header.k === 'pub' && header.x !== undefined) frame.exclude = header.x;
      stream.deliverUnordered(frame);
    }
  }

  private onControlRecord(record: BusRecord): void {
    hubStats.add('control');
    let msg: ControlMessage;
    try {
      msg = decodeControl(record.value);
    } catch {
      this.log.warn('undecodable control record skipped');
      return;
    }
    this.applyControl(msg);
  }

  /** Applies a control message to local sessions (the bus delivers it to every node). */
  applyControl(msg: ControlMessage): void {
    if (msg.k === 'app_changed') {
      // The admin API changed the app (keys, secrets, options, enabled): read it again on next use.
      this.controlCache?.invalidate(msg.a);
      if (msg.off) {
        const targets = [...this.sessions.values()].filter((s) => s.app.id === msg.a);
        this.closeAll(targets, DisconnectCode.UNKNOWN_APP);
      }
    } else if (msg.k === 'disconnect') {
      const def =
        Object.values(DisconnectCode).find((d) => d.code === msg.code) ?? DisconnectCode.FORCE_DISCONNECT;
      this.closeAll(this.sessionsOf(msg.a, msg.u), def);
    } else if (msg.k === 'unsubscribe') {
      for (const s of this.sessionsOf(msg.a, msg.u)) this.onServerUnsubscribe?.(s, msg.c);
    } else if (msg.k === 'revoke') {
      const targets = msg.u
        ? this.sessionsOf(msg.a, msg.u)
        : [...this.sessions.values()].filter((s) => s.app.id === msg.a);
      for (const s of targets) {
        const byJti = msg.jti !== undefined && s.jti === msg.jti;
        const byUser = msg.u !== undefined && msg.before !== undefined && (s.iat ?? 0) < msg.before;
        if (byJti || byUser) s.transport.close(DisconnectCode.TOKEN_REVOKED);
      }
    }
  }

  /** Set by the client service: how a server-side unsubscribe is carried out for one session. */
  onServerUnsubscribe?: (session: Session, channel: string) => void;
}
