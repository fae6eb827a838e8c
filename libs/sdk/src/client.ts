import {
  DisconnectCode,
  ErrorCode,
  shouldReconnect,
  type Command,
  type CommandResultMap,
  type ConnectPush,
  type ConnectResult,
  type ErrorBody,
  type HistoryResult,
  type PresenceResult,
  type PresenceStatsResult,
  type PublishResult,
  type RequestCommand,
  type ServerFrame,
  type StreamPosition,
  type SubscribeResult,
} from '@herald/protocol';
import { backoffDelay, reconnectDelay } from './backoff.js';
import { TypedEmitter } from './emitter.js';
import type { TimerHandle } from './platform.js';
import { openTransport, type Transport, type TransportClose, type TransportName } from './transports.js';
import {
  HeraldRequestError,
  type ClientEvents,
  type ClientState,
  type HeraldOptions,
  type PublicationEvent,
  type SubscriptionEvents,
  type SubscriptionOptions,
} from './types.js';

type CommandName = RequestCommand['cmd'];
type CommandBody<K extends CommandName> = Omit<Extract<RequestCommand, { cmd: K }>, 'id'> & { cmd: K };

const CLIENT_CLOSE = 1000;
const SDK_NAME = 'herald-js';

/** Where a refresh is scheduled: a random point in the last 10–20 % of the lifetime (§2.5). */
function refreshDelayMs(expiresSec: number, now = Date.now(), random = Math.random): number {
  const remaining = Math.max(0, expiresSec * 1000 - now);
  return Math.floor(remaining * (0.8 + 0.1 * random()));
}

function lost(message: string): HeraldRequestError {
  return new HeraldRequestError({ code: ErrorCode.UNAVAILABLE.code, message, temporary: true });
}

interface Pending {
  resolve: (result: unknown) => void;
  reject: (err: HeraldRequestError) => void;
}

/**
 * The Herald client. One logical session that outlives its transports: it connects over the first
 * transport that works, reconnects with full-jitter backoff when a reconnect code (or a network
 * failure) ends it, stops on terminal codes, and resubscribes every channel from its last
 * {offset, epoch}. Applications see each publication of a history channel at most once.
 */
export class Herald extends TypedEmitter<ClientEvents> {
  private readonly opts: HeraldOptions;
  private readonly transports: TransportName[];
  private _state: ClientState = 'disconnected';
  private transport: Transport | undefined;
  private transportIndex = 0;
  private attempt = 0;
  private connectedAt = 0;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly subs = new Map<string, Subscription>();
  /** Server-side subscriptions (personal channel, token claim) and their positions. */
  private readonly serverSubs = new Map<string, { position?: StreamPosition }>();
  private token: string | undefined;
  private ticket: string | undefined;
  private reconnectTimer: TimerHandle | undefined;
  private refreshTimer: TimerHandle | undefined;
  private livenessTimer: TimerHandle | undefined;
  private connectTimer: TimerHandle | undefined;
  private livenessMs = 0;
  private waiters: { resolve: () => void; reject: (e: HeraldRequestError) => void }[] = [];
  /** Bumped on every connection attempt, so callbacks from an old one are ignored. */
  private generation = 0;
  private lastClose: TransportClose | undefined;
  private _client: string | undefined;
  private _user: string | undefined;

  constructor(options: HeraldOptions) {
    super();
    this.opts = options;
    this.transports = options.transports?.length ? [...options.transports] : ['websocket', 'sse', 'poll'];
    this.token = options.token;
    this.ticket = options.ticket;
  }

  get state(): ClientState {
    return this._state;
  }
  get transportName(): TransportName | undefined {
    return this._state === 'connected' ? this.transport?.name : undefined;
  }
  get clientId(): string | undefined {
    return this._client;
  }
  get user(): string | undefined {
    return this._user;
  }

  /** Starts connecting (idempotent). */
  connect(): void {
    if (this._state !== 'disconnected') return;
    this.attempt = 0;
    this.transportIndex = 0;
    this.setState('connecting');
    void this.startAttempt();
  }

  /** Closes the connection, stops every timer and reconnect; pending commands fail. */
  disconnect(): void {
    const wasActive = this._state !== 'disconnected';
    this.generation++;
    this.clearTimers();
    this.transport?.close();
    this.transport = undefined;
    this.failPending('client disconnected');
    for (const w of this.waiters.splice(0)) w.reject(lost('client disconnected'));
    for (const sub of this.subs.values()) sub._clearTimers();
    if (wasActive) {
      this.setState('disconnected');
      this.emit('disconnected', { code: CLIENT_CLOSE, reason: 'client disconnect', reconnect: false });
    }
  }

  /** A subscription to `channel` (the same object for the same channel until it is removed). */
  newSubscription(channel: string, options: SubscriptionOptions = {}): Subscription {
    const existing = this.subs.get(channel);
    if (existing) return existing;
    const sub = new Subscription(this, channel, options);
    this.subs.set(channel, sub);
    return sub;
  }

  /** Creates (or returns) the subscription and subscribes it. */
  subscribe(channel: string, options: SubscriptionOptions = {}): Subscription {
    const sub = this.newSubscription(channel, options);
    sub.subscribe();
    return sub;
  }

  getSubscription(channel: string): Subscription | undefined {
    return this.subs.get(channel);
  }

  removeSubscription(sub: Subscription): void {
    sub.unsubscribe();
    this.subs.delete(sub.channel);
  }

  publish(channel: string, data: unknown): Promise<PublishResult> {
    return this.request({ cmd: 'publish', channel, data });
  }
  /**
   * Acknowledges a user-addressed message (a publication's `id`), so the server's `unacked` push
   * policy sends no mobile push for it. Done automatically on delivery unless `autoAck: false`.
   */
  async ack(messageId: string): Promise<void> {
    await this.request({ cmd: 'ack', message: messageId });
  }
  presence(channel: string): Promise<PresenceResult> {
    return this.request({ cmd: 'presence', channel });
  }
  presenceStats(channel: string): Promise<PresenceStatsResult> {
    return this.request({ cmd: 'presence_stats', channel });
  }
  history(
    channel: string,
    options: { limit?: number; since?: StreamPosition; reverse?: boolean } = {},
  ): Promise<HistoryResult> {
    return this.request({ cmd: 'history', channel, ...options });
  }

  /** Sends a command once connected; resolves with its result or rejects with the server's error. */
  async request<K extends CommandName>(body: CommandBody<K>): Promise<CommandResultMap[K]> {
    await this.ready();
    return this.send(body);
  }

  /** Resolves once connected (rejects if the client is disconnected for good). */
  ready(): Promise<void> {
    if (this._state === 'connected') return Promise.resolve();
    if (this._state === 'disconnected') return Promise.reject(lost('client is disconnected'));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Sends now on the current transport (internal: callers know the client is connected). */
  _send<K extends CommandName>(body: CommandBody<K>): Promise<CommandResultMap[K]> {
    return this.send(body);
  }

  private send<K extends CommandName>(body: CommandBody<K>): Promise<CommandResultMap[K]> {
    const transport = this.transport;
    if (!transport) return Promise.reject(lost('not connected'));
    const id = this.nextId++;
    const frame = { ...body, id } as RequestCommand;
    return new Promise<CommandResultMap[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
      transport.send([frame]);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Connection lifecycle
  // -------------------------------------------------------------------------------------------

  private async startAttempt(): Promise<void> {
    const gen = ++this.generation;
    const name = this.transports[this.transportIndex];
    this.emit('connecting', {
      transport: name,
      ...(this.lastClose ? { code: this.lastClose.code, reason: this.lastClose.reason } : {}),
    });
    const useTicket = name === 'websocket' && this.ticket !== undefined;
    if (!useTicket && this.token === undefined) {
      if (!this.opts.getToken) {
        this.terminal({ code: DisconnectCode.INVALID_TOKEN.code, reason: 'no token', opened: false });
        return;
      }
      try {
        const token = await this.opts.getToken();
        if (gen !== this.generation) return;
        this.token = token;
      } catch (err) {
        if (gen !== this.generation) return;
        this.emit('error', { type: 'token', error: err instanceof Error ? err : new Error(String(err)) });
        this.scheduleReconnect({ code: ABNORMAL, reason: 'getToken failed', opened: false });
        return;
      }
    }
    this.transport = openTransport(name, {
      baseUrl: this.opts.url.replace(/\/+$/, '').replace(/^ws/, 'http'),
      key: this.opts.key,
      token: this.token,
      WebSocket: this.opts.WebSocket ?? globalThis.WebSocket,
      EventSource: this.opts.EventSource ?? globalThis.EventSource,
      fetch: this.opts.fetch ?? (globalThis.fetch ? globalThis.fetch.bind(globalThis) : undefined),
      handlers: {
        onOpen: (push) => {
          if (gen === this.generation) this.onTransportOpen(push, useTicket);
        },
        onFrame: (frame) => {
          if (gen === this.generation) this.onFrame(frame);
        },
        onClose: (close) => {
          if (gen === this.generation) this.onTransportClose(close);
        },
      },
    });
    // A transport that neither connects nor fails (a proxy that buffers the SSE stream, a poll
    // that hangs) is given up as if it had been refused, so the client falls back to the next one.
    const timeoutMs = this.opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    if (timeoutMs > 0) {
      this.connectTimer = setTimeout(() => {
        this.connectTimer = undefined;
        if (gen !== this.generation || this._state === 'connected') return;
        this.transport?.close();
        this.onTransportClose({ code: ABNORMAL, reason: `${name} did not connect in time`, opened: false });
      }, timeoutMs);
    }
  }

  private onTransportOpen(push: ConnectPush | undefined, useTicket: boolean): void {
    if (push) {
      this.onConnected(push);
      return;
    }
    const subs: Record<string, { recover?: StreamPosition }> = {};
    for (const [channel, s] of this.serverSubs) if (s.position) subs[channel] = { recover: s.position };
    const credential = useTicket ? { ticket: this.ticket } : { token: this.token };
    if (useTicket) this.ticket = undefined; // single use
    this.send({ cmd: 'connect', ...credential, subs, name: this.opts.name ?? SDK_NAME }).then(
      (result) => this.onConnected(result),
      (err: HeraldRequestError) => {
        // The server closes the connection after a failed connect; the close code decides.
        this.emit('error', { type: 'connect', error: err });
        if (err.code === ErrorCode.TOKEN_EXPIRED.code) this.token = undefined;
      },
    );
  }

  private onConnected(result: ConnectResult): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this._state = 'connected';
    this.connectedAt = Date.now();
    this._client = result.client;
    this._user = result.user;
    this.lastClose = undefined;
    const transport = this.transport!;
    // Stick to the transport that worked for the next reconnect.
    this.transportIndex = this.transports.indexOf(transport.name);
    for (const [channel, sr] of Object.entries(result.subs)) this.onServerSub(channel, sr);
    this.emit('state', { state: 'connected' });
    this.emit('connected', {
      client: result.client,
      user: result.user,
      transport: transport.name,
      ...(result.expires !== undefined ? { expires: result.expires } : {}),
    });
    this.scheduleRefresh(result.expires);
    if (transport.name === 'websocket') {
      this.livenessMs = (result.ping + result.pong_timeout) * 1000;
      this.touchLiveness();
    }
    for (const w of this.waiters.splice(0)) w.resolve();
    for (const sub of this.subs.values()) sub._onConnected();
  }

  private onServerSub(channel: string, sr: SubscribeResult): void {
    const known = this.serverSubs.get(channel) ?? {};
    for (const pub of sr.publications ?? []) this.deliverServerPub(channel, pub);
    if (sr.recoverable && sr.epoch !== undefined && sr.offset !== undefined) {
      const keep = known.position?.epoch === sr.epoch && sr.recovered === true;
      known.position = keep ? known.position : { offset: sr.offset, epoch: sr.epoch };
      if (known.position && sr.offset > known.position.offset) known.position.offset = sr.offset;
    }
    this.serverSubs.set(channel, known);
  }

  private deliverServerPub(channel: string, pub: PublicationEvent | Omit<PublicationEvent, 'channel'>): void {
    const s = this.serverSubs.get(channel);
    if (pub.offset !== undefined && s?.position) {
      if (pub.offset <= s.position.offset) return;
      s.position.offset = pub.offset;
    }
    this.emit('publication', { ...pub, channel });
    // User-addressed messages sent with push carry an id: acknowledging it after the application's
    // handlers ran tells the server's `unacked` policy that this device showed it (no push needed).
    if (pub.id !== undefined && this.opts.autoAck !== false) this.ack(pub.id).catch(() => undefined);
  }

  private onFrame(frame: ServerFrame): void {
    this.touchLiveness();
    if ('id' in frame) {
      const p = this.pending.get(frame.id);
      if (!p) return;
      this.pending.delete(frame.id);
      if ('error' in frame) p.reject(new HeraldRequestError(frame.error));
      else p.resolve(frame.result);
      return;
    }
    switch (frame.push) {
      case 'ping':
        this.transport?.send([{ cmd: 'pong' } as Command]);
        return;
      case 'pub': {
        const sub = this.subs.get(frame.channel);
        if (sub) sub._onPub(frame.pub);
        else this.deliverServerPub(frame.channel, frame.pub);
        return;
      }
      case 'join':
      case 'leave':
        this.subs.get(frame.channel)?._onJoinLeave(frame.push, frame.info);
        return;
      case 'unsub':
        this.subs.get(frame.channel)?._onUnsub(frame.code, frame.reason);
        this.serverSubs.delete(frame.channel);
        return;
      case 'sub':
        this.onServerSub(frame.channel, frame);
        return;
      case 'disconnect':
        // Over WebSocket the close frame carries this; treat a push exactly like it (§2.7).
        this.transport?.close();
        this.onTransportClose({
          code: frame.code,
          reason: frame.reason,
          opened: true,
          ...(frame.advice ? { advice: frame.advice } : {}),
        });
        return;
      case 'connect':
        return;
    }
  }

  private onTransportClose(close: TransportClose): void {
    this.transport = undefined;
    this.clearConnectionTimers();
    this.failPending(close.reason || 'connection closed');
    const wasConnected = this._state === 'connected';
    for (const sub of this.subs.values()) sub._onDisconnected();
    if (!shouldReconnect(close.code)) {
      this.terminal(close);
      return;
    }
    if (close.code === DisconnectCode.TOKEN_EXPIRED.code && this.opts.getToken) this.token = undefined;
    if (!close.opened && !wasConnected && this.transportIndex < this.transports.length - 1) {
      // The upgrade (or stream) was refused: fall back to the next transport at once.
      this.transportIndex++;
      this.lastClose = close;
      void this.startAttempt();
      return;
    }
    if (wasConnected)
      this.emit('disconnected', {
        code: close.code,
        reason: close.reason,
        reconnect: true,
        ...(close.advice ? { advice: close.advice } : {}),
      });
    this.scheduleReconnect(close);
  }

  private scheduleReconnect(close: TransportClose): void {
    if (this._state === 'connected' && Date.now() - this.connectedAt >= (this.opts.backoffResetMs ?? 30_000))
      this.attempt = 0;
    this.setState('connecting');
    this.lastClose = close;
    // A failure of every transport starts over at the preferred one.
    if (!close.opened && this.transportIndex >= this.transports.length - 1) this.transportIndex = 0;
    // Server advice (a draining node: "not before 1 s") is a floor; the jitter still goes on top.
    const delay = reconnectDelay(this.attempt++, close.advice?.delay_ms, this.opts.backoff);
    const gen = ++this.generation;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (gen === this.generation) void this.startAttempt();
    }, delay);
  }

  private terminal(close: TransportClose): void {
    this.generation++;
    this.clearTimers();
    this.transport?.close();
    this.transport = undefined;
    this.setState('disconnected');
    for (const w of this.waiters.splice(0)) w.reject(lost(close.reason));
    this.emit('disconnected', { code: close.code, reason: close.reason, reconnect: false });
  }

  private setState(state: ClientState): void {
    if (this._state === state) return;
    this._state = state;
    this.emit('state', { state });
  }

  private failPending(reason: string): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(lost(reason));
  }

  private scheduleRefresh(expires: number | undefined): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    if (expires === undefined || !this.opts.getToken) return;
    const gen = this.generation;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      if (gen === this.generation) void this.refresh();
    }, refreshDelayMs(expires));
  }

  private async refresh(): Promise<void> {
    const gen = this.generation;
    try {
      const token = await this.opts.getToken!();
      if (gen !== this.generation) return;
      this.token = token;
      const result = await this.send({ cmd: 'refresh', token });
      if (gen !== this.generation) return;
      this.emit('refreshed', result.expires !== undefined ? { expires: result.expires } : {});
      this.scheduleRefresh(result.expires);
    } catch (err) {
      if (gen !== this.generation) return;
      this.emit('error', { type: 'refresh', error: err instanceof Error ? err : new Error(String(err)) });
      // Try again shortly; if it keeps failing the server closes with 3003 and we reconnect.
      this.refreshTimer = setTimeout(() => void this.refresh(), backoffDelay(1, this.opts.backoff));
    }
  }

  private touchLiveness(): void {
    if (this.livenessMs <= 0 || this.transport?.name !== 'websocket') return;
    if (this.livenessTimer) clearTimeout(this.livenessTimer);
    const gen = this.generation;
    // Nothing at all for ping + pong_timeout: the connection is dead even if the socket says not (§2.4).
    this.livenessTimer = setTimeout(() => {
      if (gen !== this.generation) return;
      this.transport?.close();
      this.onTransportClose({
        code: DisconnectCode.NO_PONG.code,
        reason: 'no ping from server',
        opened: true,
      });
    }, this.livenessMs);
  }

  private clearConnectionTimers(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.livenessTimer) clearTimeout(this.livenessTimer);
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.refreshTimer = this.livenessTimer = this.connectTimer = undefined;
  }

  private clearTimers(): void {
    this.clearConnectionTimers();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }
}

const ABNORMAL = 1006;
/** How long one transport may take to deliver the connect result before the next one is tried. */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

type SubState = 'unsubscribed' | 'subscribing' | 'subscribed';

/**
 * One channel. Remembers its last {offset, epoch} and, on every resubscribe, asks to recover from
 * it; drops any publication whose offset is not greater than the last one delivered (§7.7), so the
 * application never sees one publication twice, across reconnects and transports.
 */
export class Subscription extends TypedEmitter<SubscriptionEvents> {
  private _state: SubState = 'unsubscribed';
  private position: StreamPosition | undefined;
  /** Publications that arrived before the subscribe reply (HTTP transports: stream vs POST). */
  private early: Omit<PublicationEvent, 'channel'>[] = [];
  private wanted = false;
  private attempt = 0;
  private retryTimer: TimerHandle | undefined;
  private refreshTimer: TimerHandle | undefined;
  private generation = 0;

  constructor(
    private readonly client: Herald,
    readonly channel: string,
    private readonly options: SubscriptionOptions,
  ) {
    super();
  }

  get state(): SubState {
    return this._state;
  }
  /** The last stream position delivered (history channels). */
  get streamPosition(): StreamPosition | undefined {
    return this.position ? { ...this.position } : undefined;
  }

  subscribe(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.setSubscribing();
    if (this.client.state === 'connected') void this.sendSubscribe();
  }

  unsubscribe(): void {
    if (!this.wanted) return;
    this.wanted = false;
    const wasSubscribed = this._state !== 'unsubscribed';
    this._clearTimers();
    this.generation++;
    this._state = 'unsubscribed';
    if (this.client.state === 'connected')
      this.client._send({ cmd: 'unsubscribe', channel: this.channel }).catch(() => undefined);
    if (wasSubscribed)
      this.emit('unsubscribed', { channel: this.channel, code: 0, reason: 'unsubscribe called' });
  }

  publish(data: unknown): Promise<PublishResult> {
    return this.client.publish(this.channel, data);
  }
  presence(): Promise<PresenceResult> {
    return this.client.presence(this.channel);
  }
  presenceStats(): Promise<PresenceStatsResult> {
    return this.client.presenceStats(this.channel);
  }
  history(
    options: { limit?: number; since?: StreamPosition; reverse?: boolean } = {},
  ): Promise<HistoryResult> {
    return this.client.history(this.channel, options);
  }

  /** Resolves when subscribed (events after that are delivered). */
  ready(): Promise<void> {
    if (this._state === 'subscribed') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const offs = [
        this.once('subscribed', () => {
          offs.forEach((f) => f());
          resolve();
        }),
        this.once('unsubscribed', (e) => {
          offs.forEach((f) => f());
          reject(new Error(`unsubscribed: ${e.reason}`));
        }),
      ];
    });
  }

  _onConnected(): void {
    if (this.wanted) void this.sendSubscribe();
  }

  _onDisconnected(): void {
    this._clearTimers();
    this.generation++;
    if (this.wanted) this.setSubscribing();
  }

  _clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.retryTimer = this.refreshTimer = undefined;
  }

  _onPub(pub: Omit<PublicationEvent, 'channel'>): void {
    if (this._state === 'subscribing') {
      this.early.push(pub);
      return;
    }
    if (this._state === 'subscribed') this.deliver(pub);
  }

  _onJoinLeave(kind: 'join' | 'leave', info: { user: string; client: string; info?: unknown }): void {
    if (this._state === 'subscribed') this.emit(kind, { channel: this.channel, info });
  }

  _onUnsub(code: number, reason: string): void {
    this.wanted = false;
    this._clearTimers();
    this._state = 'unsubscribed';
    this.emit('unsubscribed', { channel: this.channel, code, reason });
  }

  private setSubscribing(): void {
    if (this._state === 'subscribing') return;
    this._state = 'subscribing';
    this.early = [];
    this.emit('subscribing', { channel: this.channel });
  }

  private deliver(pub: Omit<PublicationEvent, 'channel'>): void {
    if (pub.offset !== undefined && this.position) {
      if (pub.offset <= this.position.offset) return; // already delivered (§7.7)
      this.position = { offset: pub.offset, epoch: this.position.epoch };
    }
    this.emit('publication', { ...pub, channel: this.channel });
  }

  private async sendSubscribe(): Promise<void> {
    const gen = ++this.generation;
    const recover = this.position ? { ...this.position } : undefined;
    let token: string | undefined;
    try {
      if (this.options.getToken) token = await this.options.getToken(this.channel);
    } catch (err) {
      this.emit('error', {
        channel: this.channel,
        error: new HeraldRequestError({
          code: ErrorCode.UNAUTHORIZED.code,
          message: String(err),
          temporary: true,
        }),
      });
      this.retryLater(gen);
      return;
    }
    if (gen !== this.generation) return;
    let result: SubscribeResult;
    try {
      result = await this.client._send({
        cmd: 'subscribe',
        channel: this.channel,
        ...(token !== undefined ? { token } : {}),
        ...(recover ? { recover } : {}),
      });
    } catch (err) {
      if (gen !== this.generation) return;
      const error = err as HeraldRequestError;
      this.emit('error', { channel: this.channel, error });
      if (error.code === ErrorCode.ALREADY_SUBSCRIBED.code) {
        // The server kept us subscribed (a resubscribe race): treat as subscribed without recovery.
        result = { recoverable: false };
      } else if (error.temporary) {
        this.retryLater(gen);
        return;
      } else {
        this.wanted = false;
        this._state = 'unsubscribed';
        this.emit('unsubscribed', { channel: this.channel, code: error.code, reason: error.message });
        return;
      }
    }
    if (gen !== this.generation) return;
    this.attempt = 0;
    const recovered = recover !== undefined && result.recovered === true && result.epoch === recover.epoch;
    if (recovered) {
      for (const pub of result.publications ?? []) this.deliver(pub);
    } else {
      this.position = undefined;
    }
    if (result.recoverable && result.epoch !== undefined && result.offset !== undefined) {
      const current = this.position?.offset ?? -1;
      this.position = { offset: Math.max(current, result.offset), epoch: result.epoch };
    }
    this._state = 'subscribed';
    this.emit('subscribed', {
      channel: this.channel,
      recoverable: result.recoverable,
      wasRecovering: recover !== undefined,
      recovered,
      ...(this.position ? { position: { ...this.position } } : {}),
    });
    const early = this.early;
    this.early = [];
    for (const pub of early) this.deliver(pub);
    if (token !== undefined) this.scheduleTokenRefresh(token, gen);
  }

  private retryLater(gen: number): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (gen === this.generation && this.client.state === 'connected') void this.sendSubscribe();
    }, backoffDelay(this.attempt++));
  }

  /** Subscription tokens with `exp` are refreshed with sub_refresh before they expire. */
  private scheduleTokenRefresh(token: string, gen: number): void {
    const exp = jwtExp(token);
    if (exp === undefined || !this.options.getToken) return;
    this.refreshTimer = setTimeout(async () => {
      this.refreshTimer = undefined;
      if (gen !== this.generation) return;
      try {
        const fresh = await this.options.getToken!(this.channel);
        if (gen !== this.generation) return;
        await this.client._send({ cmd: 'sub_refresh', channel: this.channel, token: fresh });
        this.scheduleTokenRefresh(fresh, gen);
      } catch (err) {
        this.emit('error', {
          channel: this.channel,
          error:
            err instanceof HeraldRequestError
              ? err
              : new HeraldRequestError({ code: ErrorCode.INTERNAL.code, message: String(err) } as ErrorBody),
        });
      }
    }, refreshDelayMs(exp));
  }
}

/** The `exp` claim of a JWT, read without verifying (the server verifies); undefined if absent. */
function jwtExp(token: string): number | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(json) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp : undefined;
  } catch {
    return undefined;
  }
}
