import type { IncomingMessage } from 'node:http';
import { Inject, Logger, Optional, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { RawData, WebSocket } from 'ws';
import { isOriginAllowed } from '@herald/auth';
import { NODE_CONFIG, type NodeConfig } from '@herald/config';
import { CONTROL_STORE, type ControlStore } from '@herald/control';
import {
  ClientService,
  PublishService,
  Session,
  SessionSupervisor,
  WriteScheduler,
  pubFrameJson,
  withOffset,
} from '@herald/core';
import { HISTORY_STORE, type HistoryStore } from '@herald/history';
import {
  PRESENCE_REGISTRY,
  type PresenceRegistry,
  LIFECYCLE_EVENTS,
  type LifecycleEvents,
} from '@herald/presence';
import { DisconnectCode, HeraldError, isValidUserId } from '@herald/protocol';
import { ConnectionAdmission, rawToString, upgradeUrl } from '@herald/realtime';
import { parsePusherChannel, toHeraldData, type PusherChannel } from './channels.js';
import { PusherCode, type PusherErrorDef } from './pusher-codes.js';
import { pusherFrame, translate } from './pusher-format.js';
import { PusherLiveness } from './pusher-liveness.js';
import { PusherWebhookEvents } from './pusher-webhook-events.js';
import { PusherTransport } from './pusher.transport.js';
import { channelAuthData, userAuthData, verifyClientAuth } from './signatures.js';

export const PUSHER_WS_PATH = '/app';

/** Protocol versions served (pusher-js 8 speaks 7; 5 and 6 differ only in features Herald does not use). */
const MIN_PROTOCOL = 5;
const MAX_PROTOCOL = 7;

/** This process's half of every socket id it hands out: random per process, so ids differ across nodes. */
const NODE_NUMBER = 1_000_000_000 + Math.floor(Math.random() * 8_999_999_999);
let socketCounter = Math.floor(Math.random() * 1_000_000);

/** A Pusher socket id (`^\d+\.\d+$`); it is also the Herald client id of the session. */
export function nextSocketId(): string {
  socketCounter = (socketCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${NODE_NUMBER}.${socketCounter}`;
}

interface PusherMessage {
  event?: unknown;
  channel?: unknown;
  data?: unknown;
}

/** Pusher's `data` is an object, or the same object JSON-encoded in a string. */
function dataObject(data: unknown): Record<string, unknown> {
  if (typeof data === 'string') {
    try {
      const parsed: unknown = JSON.parse(data);
      if (typeof parsed === 'object' && parsed !== null) return parsed as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
}

/**
 * `/app/{key}?protocol=7`: the Pusher Channels WebSocket protocol over Herald sessions. A Pusher
 * connection is a Herald session with the Pusher socket id as its client id: the same limits,
 * hub delivery, presence registry, history and lifecycle events as a native one. Only the edge
 * differs: this class reads Pusher events and answers in Pusher's terms; PusherTransport writes
 * each publication's Pusher encoding, built once per publication.
 */
@WebSocketGateway({ path: PUSHER_WS_PATH, prefixRoute: true })
export class PusherEndpoint implements OnGatewayConnection, OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('PusherEndpoint');
  private readonly liveness: PusherLiveness;
  private livenessTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    @Inject(PRESENCE_REGISTRY) private readonly presence: PresenceRegistry,
    @Inject(HISTORY_STORE) private readonly history: HistoryStore,
    private readonly clients: ClientService,
    private readonly publisher: PublishService,
    private readonly supervisor: SessionSupervisor,
    private readonly scheduler: WriteScheduler,
    private readonly admission: ConnectionAdmission,
    private readonly hooks: PusherWebhookEvents,
    @Optional() @Inject(LIFECYCLE_EVENTS) private readonly events?: LifecycleEvents,
  ) {
    this.liveness = new PusherLiveness(
      config.pusher.activityTimeoutSeconds * 1000,
      config.pusher.pongTimeoutSeconds * 1000,
    );
  }

  /** One node-wide timer for the activity pings and pong deadlines of every Pusher connection. */
  onModuleInit(): void {
    this.livenessTimer = setInterval(() => this.liveness.tick(Date.now()), 1000);
    this.livenessTimer.unref();
  }

  onModuleDestroy(): void {
    if (this.livenessTimer) clearInterval(this.livenessTimer);
    this.livenessTimer = undefined;
  }

  handleConnection(ws: WebSocket, req: IncomingMessage): void {
    const url = new URL(upgradeUrl(req), 'http://localhost');
    const origin = req.headers.origin;
    const socket = req.socket;
    let session: Session | undefined;
    let transport: PusherTransport | undefined;
    let early: string[] | undefined = [];
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        if (transport) transport.closeWith(PusherCode.BAD_MESSAGE, DisconnectCode.UNSUPPORTED_PROTOCOL);
        else reject(PusherCode.BAD_MESSAGE);
        return;
      }
      const text = rawToString(data);
      if (session && transport) this.onMessage(session, transport, text);
      else early?.push(text);
    });
    ws.on('close', () => {
      early = undefined;
      if (transport) this.liveness.delete(transport);
      if (!session) return;
      const s = session;
      const channels = [...s.subs.keys()];
      void this.clients.onClosed(s, transport?.closeDef).then(() => {
        for (const c of channels) this.hooks.countChanged(s.app, c);
      });
    });

    const reject = (code: PusherErrorDef) => {
      ws.send(JSON.stringify({ event: 'pusher:error', data: { code: code.code, message: code.message } }));
      ws.close(code.code, code.message);
    };
    const parts = url.pathname.split('/');
    // ['', 'app', '{key}']
    if (parts.length !== 3 || parts[1] !== 'app' || parts[2] === '') return reject(PusherCode.PATH_NOT_FOUND);
    const key = decodeURIComponent(parts[2]);
    const protocol = url.searchParams.get('protocol');
    if (protocol === null || protocol === '') return reject(PusherCode.NO_PROTOCOL_VERSION);
    if (!/^\d{1,3}$/.test(protocol)) return reject(PusherCode.INVALID_VERSION);
    if (Number(protocol) < MIN_PROTOCOL || Number(protocol) > MAX_PROTOCOL)
      return reject(PusherCode.UNSUPPORTED_PROTOCOL);
    if (this.supervisor.draining) return reject(PusherCode.GENERIC_RECONNECT);
    if (!this.admission.take()) return reject(PusherCode.OVER_CAPACITY);

    this.control.getAppByKey(key).then(
      async (app) => {
        if (ws.readyState !== ws.OPEN || early === undefined) return;
        if (!app) return reject(PusherCode.APP_NOT_FOUND);
        if (!app.enabled) return reject(PusherCode.APP_DISABLED);
        if (!isOriginAllowed(app, origin)) return reject(PusherCode.UNAUTHORIZED);
        const t = new PusherTransport(ws, socket, this.scheduler, app.limits.outboundQueueBytes);
        const s = new Session(app, t, Date.now(), nextSocketId());
        try {
          await this.clients.attach(s, '');
        } catch (err) {
          if (err instanceof HeraldError && err.details?.disconnect === 'limit')
            return reject(PusherCode.OVER_CONNECTION_QUOTA);
          this.log.error({ msg: 'pusher connection failed', app: app.id, err: String(err) });
          return reject(PusherCode.GENERIC_RECONNECT);
        }
        transport = t;
        session = s;
        if (early === undefined) {
          // The socket closed while the session was being opened.
          void this.clients.onClosed(s, undefined);
          return;
        }
        // Pusher connections keep Pusher's liveness (PusherLiveness): the native pong deadline
        // (SessionSupervisor, ws.pongTimeoutSeconds) never applies to them.
        s.lastPongAt = Number.POSITIVE_INFINITY;
        t.lastActivityAt = Date.now();
        this.liveness.add(t);
        t.write(
          pusherFrame('pusher:connection_established', {
            socket_id: s.id,
            activity_timeout: this.config.pusher.activityTimeoutSeconds,
          }),
        );
        const pending = early;
        early = undefined;
        for (const text of pending) this.onMessage(s, t, text);
      },
      (err: unknown) => {
        this.log.error({ msg: 'app lookup failed', err: String(err) });
        reject(PusherCode.GENERIC_RECONNECT);
      },
    );
  }

  /** One client message, run after the session's previous ones (replies keep their order). */
  private onMessage(session: Session, transport: PusherTransport, text: string): void {
    if (session.state === 'closed') return;
    if (Buffer.byteLength(text, 'utf8') > session.app.limits.maxFrameBytes) {
      transport.closeWith(PusherCode.BAD_MESSAGE, DisconnectCode.MESSAGE_TOO_LARGE, 'Message too large');
      return;
    }
    transport.lastActivityAt = Date.now();
    let msg: PusherMessage;
    try {
      msg = JSON.parse(text) as PusherMessage;
    } catch {
      transport.write(pusherFrame('pusher:error', { code: null, message: 'Malformed JSON' }));
      return;
    }
    if (typeof msg !== 'object' || msg === null || typeof msg.event !== 'string') {
      transport.write(pusherFrame('pusher:error', { code: null, message: 'Message has no event' }));
      return;
    }
    const event = msg.event;
    if (event === 'pusher:ping') {
      transport.write(pusherFrame('pusher:pong', {}));
      return;
    }
    if (event === 'pusher:pong') return;
    session.chain = session.chain.then(async () => {
      if (session.state === 'closed') return;
      try {
        if (event === 'pusher:subscribe') await this.subscribe(session, transport, dataObject(msg.data));
        else if (event === 'pusher:unsubscribe')
          await this.unsubscribe(session, transport, dataObject(msg.data));
        else if (event === 'pusher:signin') await this.signin(session, transport, dataObject(msg.data));
        else if (event.startsWith('client-')) await this.clientEvent(session, transport, event, msg);
      } catch (err) {
        this.log.error({
          msg: 'pusher event failed',
          app: session.app.id,
          event: event.slice(0, 64),
          err: String(err),
        });
        transport.write(pusherFrame('pusher:error', { code: null, message: 'Internal error' }));
      }
    });
  }

  private subscriptionError(
    transport: PusherTransport,
    channel: string,
    status: number,
    type: string,
    error: string,
  ): void {
    transport.write(pusherFrame('pusher:subscription_error', { type, error, status }, channel));
  }

  private async subscribe(
    session: Session,
    transport: PusherTransport,
    data: Record<string, unknown>,
  ): Promise<void> {
    const name = typeof data.channel === 'string' ? data.channel : '';
    const ch = parsePusherChannel(data.channel);
    if (!ch) {
      this.subscriptionError(transport, name.slice(0, 200), 400, 'InvalidChannel', 'Invalid channel name');
      return;
    }
    if (session.subs.has(ch.herald)) return; // Pusher ignores a repeated subscribe.
    let member: { user: string; info?: unknown } | undefined;
    const app = session.app;
    if (ch.type === 'user') {
      if (session.user !== ch.user) {
        this.subscriptionError(transport, ch.pusher, 403, 'AuthError', 'Sign in as this user first');
        return;
      }
    } else if (ch.type !== 'public') {
      const channelData = typeof data.channel_data === 'string' ? data.channel_data : undefined;
      if (ch.type === 'presence' && channelData === undefined) {
        this.subscriptionError(transport, ch.pusher, 400, 'AuthError', 'Presence channels need channel_data');
        return;
      }
      const signed = channelAuthData(session.id, ch.pusher, ch.type === 'presence' ? channelData : undefined);
      if (!verifyClientAuth(await this.clients.currentApp(session), data.auth, signed)) {
        this.subscriptionError(transport, ch.pusher, 401, 'AuthError', 'Invalid signature');
        return;
      }
      if (ch.type === 'presence') {
        const parsed = dataObject(channelData);
        const userId = typeof parsed.user_id === 'number' ? String(parsed.user_id) : parsed.user_id;
        if (typeof userId !== 'string' || !isValidUserId(userId)) {
          this.subscriptionError(
            transport,
            ch.pusher,
            400,
            'AuthError',
            'channel_data needs a valid user_id',
          );
          return;
        }
        member = parsed.user_info === undefined ? { user: userId } : { user: userId, info: parsed.user_info };
      }
    }
    let sub: Awaited<ReturnType<ClientService['subscribeAuthorized']>>;
    try {
      sub = await this.clients.subscribeAuthorized(session, ch.herald, member ? { member } : {});
    } catch (err) {
      if (!(err instanceof HeraldError)) throw err;
      this.subscriptionError(transport, ch.pusher, err.def.status, 'SubscriptionError', err.message);
      return;
    }
    if (ch.type === 'presence') {
      const members = await this.presence.members(app.id, ch.herald);
      transport.setMembers(ch.pusher, members);
      const hash: Record<string, unknown> = {};
      for (const m of members) hash[m.user] = m.info ?? null;
      const ids = Object.keys(hash);
      transport.write(
        pusherFrame(
          'pusher_internal:subscription_succeeded',
          { presence: { ids, hash, count: ids.length } },
          ch.pusher,
        ),
      );
    } else {
      transport.write(pusherFrame('pusher_internal:subscription_succeeded', {}, ch.pusher));
    }
    if (ch.cache) await this.sendCached(session, transport, ch, sub.result.offset);
    sub.after?.();
    this.hooks.countChanged(app, ch.herald);
  }

  /** `cache-` channels: the last publication at or before the subscription's start, or cache_miss. */
  private async sendCached(
    session: Session,
    transport: PusherTransport,
    ch: PusherChannel,
    startOffset: number | undefined,
  ): Promise<void> {
    const { entries } = await this.history.read(session.app.id, ch.herald, { limit: 1, reverse: true });
    const last = entries[0];
    if (!last || (startOffset !== undefined && last.offset > startOffset)) {
      if (!last) {
        transport.write(pusherFrame('pusher:cache_miss', {}, ch.pusher));
        this.hooks.cacheMiss(session.app, ch.herald);
      }
      return;
    }
    const out = translate(pubFrameJson(ch.herald, withOffset(last.offset, last.value)));
    if (out?.kind === 'send') transport.write(out.frame);
  }

  private async unsubscribe(
    session: Session,
    transport: PusherTransport,
    data: Record<string, unknown>,
  ): Promise<void> {
    const ch = parsePusherChannel(data.channel);
    if (!ch) return;
    transport.dropMembers(ch.pusher);
    if (!session.subs.has(ch.herald)) return;
    await this.clients.unsubscribeChannel(session, ch.herald);
    this.hooks.countChanged(session.app, ch.herald);
  }

  private async signin(
    session: Session,
    transport: PusherTransport,
    data: Record<string, unknown>,
  ): Promise<void> {
    const userData = typeof data.user_data === 'string' ? data.user_data : undefined;
    const refuse = (message: string) =>
      transport.closeWith(
        PusherCode.UNAUTHORIZED,
        DisconnectCode.INVALID_TOKEN,
        `Sign-in refused: ${message}`,
      );
    if (userData === undefined) return refuse('user_data missing');
    if (
      !verifyClientAuth(await this.clients.currentApp(session), data.auth, userAuthData(session.id, userData))
    )
      return refuse('invalid signature');
    const parsed = dataObject(userData);
    const id = parsed.id;
    if (typeof id !== 'string' || !isValidUserId(id)) return refuse('user_data needs a valid id');
    if (session.user !== '' && session.user !== id) return refuse('already signed in as another user');
    await this.clients.setUser(session, id, parsed.user_info);
    transport.write(pusherFrame('pusher:signin_success', { user_data: userData }));
  }

  private async clientEvent(
    session: Session,
    transport: PusherTransport,
    event: string,
    msg: PusherMessage,
  ): Promise<void> {
    const ch = parsePusherChannel(msg.channel);
    const error = (message: string, code: number | null = null): void => {
      transport.write(pusherFrame('pusher:error', { code, message }));
    };
    if (!ch || (ch.type !== 'private' && ch.type !== 'presence'))
      return error('Client events are only allowed on private and presence channels');
    const sub = session.subs.get(ch.herald);
    if (!sub) return error(`Subscribe to ${ch.pusher} before sending client events`);
    if (event.length > 200) return error('Event name too long');
    const dataJson = JSON.stringify(msg.data ?? null);
    if (Buffer.byteLength(dataJson, 'utf8') > this.config.pusher.maxEventDataBytes)
      return error(`Event data exceeds ${this.config.pusher.maxEventDataBytes} bytes`);
    if (!session.takePublishToken(this.config.pusher.clientEventsPerSecond, Date.now()))
      return error(PusherCode.CLIENT_EVENT_RATE_LIMIT.message, PusherCode.CLIENT_EVENT_RATE_LIMIT.code);
    const user = sub.member?.user ?? session.user;
    try {
      await this.publisher.publish(session.app, {
        channel: ch.herald,
        data: toHeraldData(event, msg.data),
        info: { user, client: session.id },
        exclude: session.id,
      });
    } catch (err) {
      if (!(err instanceof HeraldError)) throw err;
      return error(err.message);
    }
    this.events?.clientEvent(session.app.id, ch.herald, session.id, user, msg.data, event);
  }
}
