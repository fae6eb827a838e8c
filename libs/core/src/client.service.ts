import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { BUS, Topics, type Bus } from '@herald/bus';
import { NODE_CONFIG, type AppConfig, type NodeConfig } from '@herald/config';
import { HISTORY_STORE, type HistoryStore } from '@herald/history';
import {
  LIFECYCLE_EVENTS,
  PRESENCE_REGISTRY,
  type ExpiredMember,
  type PresenceRegistry,
  type LifecycleEvents,
} from '@herald/presence';
import { CONTROL_STORE, type ControlStore } from '@herald/control';
import { TicketService, TokenVerifier } from '@herald/auth';
import { PUSH_STATE_STORE, type PushStateStore } from '@herald/push';
import {
  DisconnectCode,
  ErrorCode,
  HeraldError,
  decodeFrames,
  encodeFrame,
  personalChannel,
  type ClientInfo,
  type Command,
  type CommandResultMap,
  type ConnectCommand,
  type DisconnectDef,
  type HistoryCommand,
  type Publication,
  type RequestCommand,
  type StreamPosition,
  type SubscribeResult,
} from '@herald/protocol';
import { resolveChannel, type ResolvedChannel } from './channel-access.js';
import { channelKey, encodeChannelRecord } from './envelope.js';
import { Hub } from './hub.js';
import { OutFrame, withOffset } from './out-frame.js';
import { PublishService } from './publish.service.js';
import { Session, type SubscriptionState, type Transport } from './session.js';

type Result = CommandResultMap[keyof CommandResultMap];

/** Receives the replies to commands that arrived on a request of their own (see handleMessage). */
export type ReplySink = (frame: OutFrame) => void;

/** Code used in an `unsub` push when the server removes a subscription. */
const UNSUB_BY_SERVER = { code: ErrorCode.PERMISSION_DENIED.code, reason: 'unsubscribed by the server' };
const UNSUB_EXPIRED = { code: ErrorCode.TOKEN_EXPIRED.code, reason: 'subscription token expired' };
/** How long an acknowledgement is kept: well beyond the longest `unacked` delay (20 s). */
const ACK_TTL_MS = 10 * 60_000;

/**
 * Runs client commands for sessions, whatever transport carries them. Transports hand over raw
 * text (`handleMessage`) and report closes (`onClosed`); everything about tenants, auth, limits
 * and delivery is decided here.
 */
@Injectable()
export class ClientService {
  private readonly log = new Logger('ClientService');
  readonly nodeId: string;

  constructor(
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    @Inject(BUS) private readonly bus: Bus,
    @Inject(HISTORY_STORE) private readonly history: HistoryStore,
    @Inject(PRESENCE_REGISTRY) private readonly presence: PresenceRegistry,
    private readonly hub: Hub,
    private readonly publisher: PublishService,
    private readonly tokens: TokenVerifier,
    private readonly tickets: TicketService,
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    @Optional() @Inject(LIFECYCLE_EVENTS) private readonly events?: LifecycleEvents,
    @Optional() @Inject(PUSH_STATE_STORE) private readonly pushState?: PushStateStore,
  ) {
    this.nodeId = config.nodeId;
    hub.onServerUnsubscribe = (s, channel) => void this.serverUnsubscribe(s, channel, UNSUB_BY_SERVER);
  }

  /** Sessions that have not sent `connect` yet (the supervisor enforces the connect timeout). */
  readonly connecting = new Set<Session>();

  createSession(app: AppConfig, transport: Transport): Session {
    const session = new Session(app, transport, Date.now());
    this.connecting.add(session);
    return session;
  }

  /**
   * Handles one transport message (one or more newline-separated frames), in order. Replies go to
   * the session's transport, or to `replyTo` when the commands came on a request of their own
   * (the HTTP session endpoint answers them in its response). Resolves when the frames have run.
   */
  handleMessage(session: Session, text: string, replyTo?: ReplySink): Promise<void> {
    if (session.state === 'closed') return Promise.resolve();
    if (Buffer.byteLength(text, 'utf8') > session.app.limits.maxFrameBytes) {
      session.transport.close(DisconnectCode.MESSAGE_TOO_LARGE);
      return Promise.resolve();
    }
    session.lastPongAt = Date.now();
    const frames = decodeFrames(text);
    return (session.chain = session.chain.then(async () => {
      for (const frame of frames) {
        if (session.state === 'closed') return;
        if (frame.error) {
          const id = frame.error.details?.id;
          if (typeof id === 'number') this.replyError(session, id, frame.error, replyTo);
          else {
            // A frame we cannot even correlate: the client is broken, not just one command.
            session.transport.close(DisconnectCode.BAD_REQUEST);
            return;
          }
          continue;
        }
        await this.run(session, frame.command as Command, replyTo);
      }
    }));
  }

  private async run(session: Session, cmd: Command, replyTo: ReplySink | undefined): Promise<void> {
    if (cmd.cmd === 'pong') return;
    try {
      if (cmd.cmd !== 'connect' && session.state !== 'connected')
        throw new HeraldError(ErrorCode.NOT_CONNECTED);
      const { result, after } = await this.execute(session, cmd);
      this.reply(session, cmd.id, result, replyTo);
      after?.();
    } catch (err) {
      if (err instanceof HeraldError) {
        this.replyError(session, cmd.id, err, replyTo);
        if (cmd.cmd === 'connect') this.closeAfterFailedConnect(session, err);
      } else {
        this.log.error({ msg: 'command failed', app: session.app.id, cmd: cmd.cmd, err: String(err) });
        this.replyError(session, cmd.id, new HeraldError(ErrorCode.INTERNAL), replyTo);
        if (cmd.cmd === 'connect') session.transport.close(DisconnectCode.SERVER_ERROR);
      }
    }
  }

  private execute(session: Session, cmd: RequestCommand): Promise<{ result: Result; after?: () => void }> {
    switch (cmd.cmd) {
      case 'connect':
        return this.connect(session, cmd);
      case 'subscribe':
        return this.subscribe(session, cmd.channel, { token: cmd.token, recover: cmd.recover });
      case 'unsubscribe':
        return this.unsubscribe(session, cmd.channel).then((result) => ({ result }));
      case 'publish':
        return this.clientPublish(session, cmd.channel, cmd.data).then((result) => ({ result }));
      case 'presence':
        return this.presenceQuery(session, cmd.channel).then((result) => ({ result }));
      case 'presence_stats':
        return this.presenceStats(session, cmd.channel).then((result) => ({ result }));
      case 'history':
        return this.historyQuery(session, cmd).then((result) => ({ result }));
      case 'refresh':
        return this.refresh(session, cmd.token).then((result) => ({ result }));
      case 'sub_refresh':
        return this.subRefresh(session, cmd.channel, cmd.token).then((result) => ({ result }));
      case 'ack':
        return this.ack(session, cmd.message).then((result) => ({ result }));
    }
  }

  /**
   * Records that this connection's user received a user-addressed message, for the push `unacked`
   * policy: the dispatcher sends no push for an acknowledged message. Scoped by the session's app
   * and user (a client can only acknowledge for itself); kept for ACK_TTL_MS, longer than any delay.
   */
  private async ack(session: Session, messageId: string): Promise<Result> {
    if (session.state !== 'connected') throw new HeraldError(ErrorCode.NOT_CONNECTED);
    if (!this.pushState)
      throw new HeraldError(ErrorCode.NOT_AVAILABLE, 'push acknowledgements are not enabled on this node');
    await this.pushState.ack(session.app.id, session.user, messageId, ACK_TTL_MS);
    return {};
  }

  // --- connect ---------------------------------------------------------------------------------

  private async connect(
    session: Session,
    cmd: ConnectCommand,
  ): Promise<{ result: Result; after?: () => void }> {
    if (session.state !== 'connecting') throw new HeraldError(ErrorCode.ALREADY_CONNECTED);
    const app = session.app;
    let user: string;
    let channels: string[];
    if (cmd.token !== undefined && cmd.ticket === undefined) {
      const claims = await this.tokens.verifyConnectionToken(app, cmd.token);
      user = claims.sub;
      session.info = claims.info;
      session.expires = claims.exp;
      session.jti = claims.jti;
      session.iat = claims.iat;
      channels = claims.channels ?? [];
    } else if (cmd.ticket !== undefined && cmd.token === undefined) {
      const claims = await this.tickets.redeem(app.id, cmd.ticket);
      user = claims.sub;
      session.info = claims.info;
      // The ticket's exp bounds its redemption only; the connection itself does not expire.
      channels = claims.channels ?? [];
    } else {
      throw new HeraldError(ErrorCode.UNAUTHORIZED, 'connect needs exactly one of token and ticket');
    }
    if (session.state !== 'connecting') throw new HeraldError(ErrorCode.ALREADY_CONNECTED);
    const limits = app.limits;
    await this.admit(session, user);

    // Server-side subscriptions: the personal channel and the token's `channels` claim.
    const serverSubs = new Set(channels);
    if (app.personalChannel) serverSubs.add(personalChannel(user));
    const subs: Record<string, SubscribeResult> = {};
    const activations: (() => void)[] = [];
    for (const channel of serverSubs) {
      if (session.subs.size >= limits.maxChannelsPerConnection) break;
      try {
        const recover = cmd.subs?.[channel]?.recover;
        const { result, after } = await this.subscribeChecked(session, resolveChannel(app, channel), {
          recover,
          serverSide: true,
        });
        subs[channel] = result;
        if (after) activations.push(after);
      } catch (err) {
        if (!(err instanceof HeraldError)) throw err;
        this.log.warn({ msg: 'server-side subscription refused', app: app.id, channel, code: err.code });
      }
    }
    const result = {
      client: session.id,
      user,
      ...(session.expires ? { expires: session.expires } : {}),
      ping: this.config.ws.pingIntervalSeconds,
      pong_timeout: this.config.ws.pongTimeoutSeconds,
      subs,
      node: this.nodeId,
      version: '1',
    };
    return { result, after: () => activations.forEach((a) => a()) };
  }

  /**
   * Connection limits, then the session becomes connected: hub, presence registry, lifecycle event.
   * Throws RATE_LIMITED with `details.disconnect: 'limit'` over a limit.
   */
  private async admit(session: Session, user: string): Promise<void> {
    const app = session.app;
    const limits = app.limits;
    if (
      limits.maxConnections > 0 &&
      (await this.presence.countConnections(app.id)) >= limits.maxConnections
    ) {
      throw new HeraldError(ErrorCode.RATE_LIMITED, 'app connection limit reached', { disconnect: 'limit' });
    }
    if (
      user !== '' &&
      limits.maxConnectionsPerUser > 0 &&
      (await this.presence.countUserConnections(app.id, user)) >= limits.maxConnectionsPerUser
    ) {
      throw new HeraldError(ErrorCode.RATE_LIMITED, 'user connection limit reached', { disconnect: 'limit' });
    }
    session.user = user;
    session.state = 'connected';
    this.connecting.delete(session);
    this.hub.addSession(session);
    await this.presence.addConnection(
      app.id,
      { client: session.id, user, node: this.nodeId },
      this.presenceTtlMs,
    );
    this.events?.connectionOpened(app.id, session.id, user);
  }

  // --- protocol adapters -----------------------------------------------------------------------
  // Entry points for adapters that speak another client protocol over Herald sessions (libs/pusher).
  // They authenticate and authorize in their own terms; everything else (limits, hub, presence,
  // history, lifecycle events) runs through the same paths as the native protocol.

  /**
   * Opens a session the adapter created (`new Session(app, transport, now, id)`) without a
   * `connect` command, as `user` ('' for anonymous). Throws RATE_LIMITED over a connection limit.
   */
  async attach(session: Session, user: string): Promise<void> {
    if (session.state !== 'connecting') throw new HeraldError(ErrorCode.ALREADY_CONNECTED);
    await this.admit(session, user);
  }

  /** The user of a connected session changes (Pusher `pusher:signin`); subscriptions are kept. */
  async setUser(session: Session, user: string, info?: unknown): Promise<void> {
    if (session.state !== 'connected') throw new HeraldError(ErrorCode.NOT_CONNECTED);
    this.hub.setUser(session, user);
    if (info !== undefined) session.info = info;
    await this.presence.addConnection(
      session.app.id,
      { client: session.id, user, node: this.nodeId },
      this.presenceTtlMs,
    );
  }

  /**
   * Subscribes a session the adapter has authorized itself (no subscription token is checked):
   * the channel's namespace options, limits, presence (as `member` when given: the presence
   * identity of this subscription), history and join pushes as for a native subscribe. Call the
   * returned `after` once the adapter has queued its own reply.
   */
  async subscribeAuthorized(
    session: Session,
    channel: string,
    opts: { member?: { user: string; info?: unknown } } = {},
  ): Promise<{ result: SubscribeResult; after?: () => void }> {
    if (session.state !== 'connected') throw new HeraldError(ErrorCode.NOT_CONNECTED);
    const ch = resolveChannel(session.app, channel);
    if (session.subs.size >= session.app.limits.maxChannelsPerConnection) {
      throw new HeraldError(
        ErrorCode.LIMIT_CHANNELS,
        `at most ${session.app.limits.maxChannelsPerConnection} channels per connection`,
      );
    }
    const member = opts.member ? { ...opts.member, client: session.id } : undefined;
    return this.subscribeChecked(session, ch, { member });
  }

  /** Ends one subscription (presence leave, leave push, lifecycle event); false when there was none. */
  unsubscribeChannel(session: Session, channel: string): Promise<boolean> {
    return this.dropSubscription(session, channel);
  }

  private closeAfterFailedConnect(session: Session, err: HeraldError): void {
    let def: DisconnectDef = DisconnectCode.INVALID_TOKEN;
    if (err.def === ErrorCode.TOKEN_EXPIRED) def = DisconnectCode.TOKEN_EXPIRED;
    else if (err.def === ErrorCode.TOKEN_REVOKED) def = DisconnectCode.TOKEN_REVOKED;
    else if (err.details?.disconnect === 'limit') def = DisconnectCode.CONNECTION_LIMIT;
    else if (err.def === ErrorCode.ALREADY_CONNECTED) return;
    else if (err.def.temporary) def = DisconnectCode.SERVER_ERROR;
    session.transport.close(def);
  }

  // --- subscriptions ---------------------------------------------------------------------------

  private async subscribe(
    session: Session,
    channel: string,
    opts: { token?: string; recover?: StreamPosition },
  ): Promise<{ result: SubscribeResult; after?: () => void }> {
    const ch = resolveChannel(session.app, channel);
    if (session.subs.has(channel)) throw new HeraldError(ErrorCode.ALREADY_SUBSCRIBED);
    if (session.subs.size >= session.app.limits.maxChannelsPerConnection) {
      throw new HeraldError(
        ErrorCode.LIMIT_CHANNELS,
        `at most ${session.app.limits.maxChannelsPerConnection} channels per connection`,
      );
    }
    let expires: number | undefined;
    if (ch.users) {
      if (!ch.users.includes(session.user))
        throw new HeraldError(ErrorCode.PERMISSION_DENIED, 'channel is limited to other users');
    } else if (ch.options.private) {
      if (opts.token === undefined) throw new HeraldError(ErrorCode.SUBSCRIPTION_TOKEN_REQUIRED);
      const claims = await this.tokens.verifySubscriptionToken(await this.currentApp(session), opts.token, {
        client: session.id,
        user: session.user,
        channel,
      });
      expires = claims.exp;
    }
    return this.subscribeChecked(session, ch, { recover: opts.recover, expires });
  }

  /** Subscribes after authorization: presence, then the hub (ordered or live), then join push. */
  private async subscribeChecked(
    session: Session,
    ch: ResolvedChannel,
    opts: { recover?: StreamPosition; expires?: number; serverSide?: boolean; member?: ClientInfo },
  ): Promise<{ result: SubscribeResult; after?: () => void }> {
    const app = session.app;
    const channel = ch.channel;
    if (session.subs.has(channel)) throw new HeraldError(ErrorCode.ALREADY_SUBSCRIBED);
    const ns = ch.options;
    if (ns.presence) {
      const max = app.limits.maxPresenceMembers;
      if (max > 0 && (await this.presence.stats(app.id, channel)).numClients >= max) {
        throw new HeraldError(ErrorCode.LIMIT_PRESENCE_MEMBERS);
      }
    }
    const sub: SubscriptionState = { namespace: ns, expires: opts.expires, presence: ns.presence };
    if (opts.member) sub.member = opts.member;
    const member = opts.member ?? session.clientInfo;
    session.subs.set(channel, sub);
    try {
      let result: SubscribeResult;
      let activate: (() => void) | undefined;
      if (ns.historySize > 0) {
        const recover = ns.recover ? opts.recover : undefined;
        const ordered = await this.hub.subscribeOrdered(session, channel, () =>
          this.readStart(app.id, channel, ns.historySize, recover),
        );
        result = ordered.value.result;
        activate = ordered.activate;
        sub.position = ordered.value.position;
        // Asked to recover where the namespace does not allow it: say so, never imply success.
        if (opts.recover && !recover) result = { ...result, recovered: false, publications: [] };
      } else {
        this.hub.subscribeLive(session, channel);
        result = { recoverable: false };
        if (opts.recover) result.recovered = false;
      }
      if (ns.presence) {
        await this.presence.join(
          app.id,
          channel,
          { client: session.id, user: member.user, info: member.info },
          this.presenceTtlMs,
        );
      }
      if (session.state === 'closed' || !session.subs.has(channel)) {
        throw new HeraldError(ErrorCode.NOT_SUBSCRIBED, 'subscription ended while it was being set up');
      }
      // The join push goes out after the subscription is active, so every subscriber (the joiner
      // too) gets it whether or not the channel keeps history.
      const after = () => {
        activate?.();
        this.events?.subscribed(app.id, channel, session.id, ns.presence ? member.user : undefined);
        if (ns.joinLeave) {
          this.publishPresenceEvent('join', session, channel, sub.member).catch((err: unknown) =>
            this.log.warn({ msg: 'join event not published', app: app.id, err: String(err) }),
          );
        }
      };
      return { result, after };
    } catch (err) {
      session.subs.delete(channel);
      this.hub.leaveStream(session, channel);
      if (ns.presence) await this.presence.leave(app.id, channel, session.id).catch(() => undefined);
      throw err;
    }
  }

  /** Reads where a subscription starts, and the missed publications when it recovers. */
  private async readStart(
    appId: string,
    channel: string,
    historySize: number,
    recover: StreamPosition | undefined,
  ): Promise<{ position: StreamPosition; result: SubscribeResult }> {
    if (!recover) {
      const position = await this.history.position(appId, channel);
      return { position, result: { recoverable: true, offset: position.offset, epoch: position.epoch } };
    }
    const { entries, position } = await this.history.read(appId, channel, {
      since: recover,
      limit: historySize,
    });
    const base = { recoverable: true, offset: position.offset, epoch: position.epoch };
    const missing = position.offset - recover.offset;
    const complete =
      recover.epoch === position.epoch &&
      missing >= 0 &&
      entries.length === missing &&
      entries.every((e, i) => e.offset === recover.offset + 1 + i);
    if (!complete) return { position, result: { ...base, recovered: false, publications: [] } };
    const publications = entries.map((e) => JSON.parse(withOffset(e.offset, e.value)) as Publication);
    return { position, result: { ...base, recovered: true, publications } };
  }

  private async unsubscribe(session: Session, channel: string): Promise<Record<string, never>> {
    await this.dropSubscription(session, channel);
    return {};
  }

  private async dropSubscription(session: Session, channel: string): Promise<boolean> {
    const sub = session.subs.get(channel);
    if (!sub) return false;
    session.subs.delete(channel);
    this.hub.leaveStream(session, channel);
    this.events?.unsubscribed(
      session.app.id,
      channel,
      session.id,
      sub.presence ? (sub.member?.user ?? session.user) : undefined,
    );
    if (sub.presence) {
      await this.presence.leave(session.app.id, channel, session.id);
      if (sub.namespace.joinLeave) await this.publishPresenceEvent('leave', session, channel, sub.member);
    }
    return true;
  }

  private async serverUnsubscribe(
    session: Session,
    channel: string,
    why: { code: number; reason: string },
  ): Promise<void> {
    try {
      if (await this.dropSubscription(session, channel)) {
        session.send(
          new OutFrame(encodeFrame({ push: 'unsub', channel, code: why.code, reason: why.reason })),
        );
      }
    } catch (err) {
      this.log.warn({ msg: 'server unsubscribe failed', app: session.app.id, err: String(err) });
    }
  }

  private async publishPresenceEvent(
    kind: 'join' | 'leave',
    session: Session,
    channel: string,
    member?: ClientInfo,
  ): Promise<void> {
    const frame = encodeFrame({ push: kind, channel, info: member ?? session.clientInfo });
    await this.bus.publish(
      Topics.PUBLICATIONS,
      channelKey(session.app.id, channel),
      encodeChannelRecord({ k: kind, a: session.app.id, c: channel }, frame),
    );
  }

  /**
   * The session's app as the control plane knows it now, so a secret rotated out or revoked
   * after the connection opened no longer verifies its refreshes, subscription tokens and (Pusher)
   * signatures. A deleted or disabled app closes the session (UNKNOWN_APP) and throws.
   */
  async currentApp(session: Session): Promise<AppConfig> {
    const app = await this.control.getApp(session.app.id);
    if (!app || !app.enabled) {
      session.transport.close(DisconnectCode.UNKNOWN_APP);
      throw new HeraldError(ErrorCode.UNKNOWN_APP);
    }
    session.app = app;
    return app;
  }

  // --- other commands --------------------------------------------------------------------------

  private async clientPublish(session: Session, channel: string, data: unknown): Promise<Result> {
    const ch = resolveChannel(session.app, channel);
    if (!ch.options.allowPublish)
      throw new HeraldError(ErrorCode.PERMISSION_DENIED, 'client publish is not allowed in this namespace');
    if (!session.subs.has(channel))
      throw new HeraldError(ErrorCode.NOT_SUBSCRIBED, 'subscribe before publishing');
    if (!session.takePublishToken(session.app.limits.clientPublishesPerSecond, Date.now())) {
      throw new HeraldError(ErrorCode.RATE_LIMITED, 'client publish rate exceeded');
    }
    const result = await this.publisher.publish(session.app, { channel, data, info: session.clientInfo });
    this.events?.clientEvent(session.app.id, channel, session.id, session.user, data);
    return result;
  }

  private subscribedNamespace(session: Session, channel: string) {
    const sub = session.subs.get(channel);
    if (!sub) throw new HeraldError(ErrorCode.NOT_SUBSCRIBED);
    return sub.namespace;
  }

  private async presenceQuery(session: Session, channel: string): Promise<Result> {
    const ns = this.subscribedNamespace(session, channel);
    if (!ns.presence || !ns.allowPresence)
      throw new HeraldError(ErrorCode.NOT_AVAILABLE, 'presence is not enabled for this channel');
    const members = await this.presence.members(session.app.id, channel);
    return { members: members.map((m) => (m.info === undefined ? { user: m.user, client: m.client } : m)) };
  }

  private async presenceStats(session: Session, channel: string): Promise<Result> {
    const ns = this.subscribedNamespace(session, channel);
    if (!ns.presence || !ns.allowPresence)
      throw new HeraldError(ErrorCode.NOT_AVAILABLE, 'presence is not enabled for this channel');
    const s = await this.presence.stats(session.app.id, channel);
    return { num_clients: s.numClients, num_users: s.numUsers };
  }

  private async historyQuery(session: Session, cmd: HistoryCommand): Promise<Result> {
    const ns = this.subscribedNamespace(session, cmd.channel);
    if (ns.historySize <= 0 || !ns.allowHistory)
      throw new HeraldError(ErrorCode.NOT_AVAILABLE, 'history is not enabled for this channel');
    return readHistory(this.history, session.app.id, cmd.channel, cmd);
  }

  private async refresh(session: Session, token: string): Promise<Result> {
    const claims = await this.tokens.verifyConnectionToken(await this.currentApp(session), token);
    if (claims.sub !== session.user) throw new HeraldError(ErrorCode.TOKEN_USER_MISMATCH);
    session.expires = claims.exp ?? 0;
    session.jti = claims.jti;
    session.iat = claims.iat;
    return { client: session.id, ...(session.expires ? { expires: session.expires } : {}) };
  }

  private async subRefresh(session: Session, channel: string, token: string): Promise<Result> {
    const sub = session.subs.get(channel);
    if (!sub) throw new HeraldError(ErrorCode.NOT_SUBSCRIBED);
    if (sub.expires === undefined)
      throw new HeraldError(ErrorCode.NOT_AVAILABLE, 'subscription does not use a subscription token');
    const claims = await this.tokens.verifySubscriptionToken(await this.currentApp(session), token, {
      client: session.id,
      user: session.user,
      channel,
    });
    sub.expires = claims.exp;
    return claims.exp ? { expires: claims.exp } : {};
  }

  // --- lifecycle -------------------------------------------------------------------------------

  /**
   * The transport closed. Leaves channels and removes presence, unless the node is shutting down:
   * then presence expires by TTL, so a rolling deploy does not mark every user offline at once.
   */
  async onClosed(session: Session, def: DisconnectDef | undefined): Promise<void> {
    if (session.state === 'closed') return;
    this.connecting.delete(session);
    const wasConnected = session.state === 'connected';
    session.state = 'closed';
    session.closeReason = def;
    const channels = [...session.subs.entries()];
    this.hub.removeSession(session);
    if (wasConnected && this.events) {
      for (const [channel, sub] of channels)
        this.events.unsubscribed(
          session.app.id,
          channel,
          session.id,
          sub.presence ? (sub.member?.user ?? session.user) : undefined,
        );
      this.events.connectionClosed(session.app.id, session.id, session.user);
    }
    if (!wasConnected || def === DisconnectCode.SHUTDOWN) return;
    try {
      for (const [channel, sub] of channels) {
        if (!sub.presence) continue;
        await this.presence.leave(session.app.id, channel, session.id);
        if (sub.namespace.joinLeave) await this.publishPresenceEvent('leave', session, channel, sub.member);
      }
      await this.presence.removeConnection(session.app.id, session.id);
    } catch (err) {
      this.log.warn({
        msg: 'presence cleanup failed; entries expire by TTL',
        app: session.app.id,
        err: String(err),
      });
    }
  }

  /** Periodic work for all local sessions; called by the supervisor. */
  expireSubscriptions(session: Session, nowSec: number): void {
    for (const [channel, sub] of session.subs) {
      if (sub.expires !== undefined && sub.expires <= nowSec)
        void this.serverUnsubscribe(session, channel, UNSUB_EXPIRED);
    }
  }

  /** Leave pushes for members that expired by TTL (their node died); the registry reports each once. */
  async announceExpired(members: ExpiredMember[]): Promise<void> {
    for (const m of members) {
      const app = await this.control.getApp(m.appId);
      if (!app) continue;
      let joinLeave: boolean;
      try {
        joinLeave = resolveChannel(app, m.channel).options.joinLeave;
      } catch {
        continue;
      }
      if (!joinLeave) continue;
      const info =
        m.info === undefined
          ? { user: m.user, client: m.client }
          : { user: m.user, client: m.client, info: m.info };
      const frame = encodeFrame({ push: 'leave', channel: m.channel, info });
      await this.bus.publish(
        Topics.PUBLICATIONS,
        channelKey(m.appId, m.channel),
        encodeChannelRecord({ k: 'leave', a: m.appId, c: m.channel }, frame),
      );
    }
  }

  async refreshPresence(session: Session): Promise<void> {
    const channels: string[] = [];
    for (const [channel, sub] of session.subs) if (sub.presence) channels.push(channel);
    await this.presence.refresh(session.app.id, session.id, channels, this.presenceTtlMs);
  }

  get presenceTtlMs(): number {
    return this.config.presence.ttlSeconds * 1000;
  }

  // --- replies ---------------------------------------------------------------------------------

  private reply(session: Session, id: number, result: Result, replyTo?: ReplySink): void {
    const frame = new OutFrame(`{"id":${id},"result":${JSON.stringify(result)}}`);
    if (replyTo) replyTo(frame);
    else session.send(frame);
  }

  private replyError(session: Session, id: number, err: HeraldError, replyTo?: ReplySink): void {
    const body = err.def.temporary
      ? { code: err.code, message: err.message, temporary: true }
      : { code: err.code, message: err.message };
    const frame = new OutFrame(encodeFrame({ id, error: body }));
    if (replyTo) replyTo(frame);
    else session.send(frame);
  }
}

/** History read shared by the client command and the REST API. */
export async function readHistory(
  history: HistoryStore,
  appId: string,
  channel: string,
  opts: { limit?: number; since?: StreamPosition; reverse?: boolean },
): Promise<{ publications: Publication[]; offset: number; epoch: string }> {
  const { entries, position } = await history.read(appId, channel, {
    limit: opts.limit,
    since: opts.since,
    reverse: opts.reverse,
  });
  if (opts.since && opts.since.epoch !== position.epoch) {
    throw new HeraldError(ErrorCode.UNRECOVERABLE_POSITION, 'epoch changed: the stream was reset', {
      offset: position.offset,
      epoch: position.epoch,
    });
  }
  return {
    publications: entries.map((e) => JSON.parse(withOffset(e.offset, e.value)) as Publication),
    offset: position.offset,
    epoch: position.epoch,
  };
}
