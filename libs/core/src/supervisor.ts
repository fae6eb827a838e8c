import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { NODE_CONFIG, type NodeConfig } from '@herald/config';
import { PRESENCE_REGISTRY, type PresenceRegistry } from '@herald/presence';
import { DisconnectCode, encodeFrame, type ReconnectAdvice } from '@herald/protocol';
import { ClientService } from './client.service.js';
import { Hub } from './hub.js';
import { OutFrame } from './out-frame.js';

const PING = new OutFrame(encodeFrame({ push: 'ping' }));

/**
 * The least a drained client waits before reconnecting (sent as `advice.delay_ms` with 3001). The
 * node went unready before the drain began; this gives the load balancer time to stop routing
 * here, so the client's reconnect (to its usual URL) reaches another node instead of this one,
 * which would refuse it with 3001 again. Clients add their own jitter on top.
 */
export const SHUTDOWN_RECONNECT_DELAY_MS = 1000;
/** The advice sent with 3001, on drain closes and on connections a draining node turns away. */
export const SHUTDOWN_ADVICE: Readonly<ReconnectAdvice> = Object.freeze({
  delay_ms: SHUTDOWN_RECONNECT_DELAY_MS,
});

/**
 * Node-wide timers for every local session, instead of timers per session (an idle connection
 * must stay cheap): pings and pong deadlines, connect deadlines, token and subscription expiry,
 * presence heartbeats, and the graceful drain on shutdown.
 */
@Injectable()
export class SessionSupervisor implements OnModuleInit, OnModuleDestroy, OnApplicationShutdown {
  private readonly log = new Logger('SessionSupervisor');
  private timers: NodeJS.Timeout[] = [];
  private lastPingAt = 0;
  draining = false;

  constructor(
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    @Inject(PRESENCE_REGISTRY) private readonly presence: PresenceRegistry,
    private readonly hub: Hub,
    private readonly clients: ClientService,
  ) {}

  onModuleInit(): void {
    const ws = this.config.ws;
    this.every(ws.pingIntervalSeconds * 1000, () => this.ping());
    this.every(1000, () => this.tick());
    this.every(Math.max(1000, (this.config.presence.ttlSeconds * 1000) / 3), () => void this.heartbeat());
  }

  onModuleDestroy(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  private ping(): void {
    this.lastPingAt = Date.now();
    // Pings are a WebSocket liveness check; SSE keeps streams alive with comment lines and poll
    // sessions expire when idle, so neither has a pong to give.
    for (const s of this.hub.allSessions()) {
      if (s.state === 'connected' && s.transport.kind === 'websocket') s.send(PING);
    }
  }

  /** Once a second: pong deadlines, connect deadlines, token and subscription expiry. */
  tick(now = Date.now()): void {
    const pongDeadline = this.lastPingAt + this.config.ws.pongTimeoutSeconds * 1000;
    const pongDue = this.lastPingAt > 0 && now >= pongDeadline;
    const nowSec = Math.floor(now / 1000);
    const connectDeadline = now - this.config.ws.connectTimeoutSeconds * 1000;
    for (const s of this.clients.connecting) {
      if (s.createdAt <= connectDeadline) s.transport.close(DisconnectCode.CONNECT_TIMEOUT);
    }
    for (const s of this.hub.allSessions()) {
      if (pongDue && s.lastPongAt < this.lastPingAt && s.transport.kind === 'websocket') {
        s.transport.close(DisconnectCode.NO_PONG);
      } else if (s.expires > 0 && s.expires <= nowSec) {
        s.transport.close(DisconnectCode.TOKEN_EXPIRED);
      } else if (s.subs.size > 0) {
        this.clients.expireSubscriptions(s, nowSec);
      }
    }
  }

  private async heartbeat(): Promise<void> {
    for (const s of this.hub.allSessions()) {
      if (s.state !== 'connected') continue;
      try {
        await this.clients.refreshPresence(s);
      } catch (err) {
        this.log.warn({ msg: 'presence heartbeat failed', app: s.app.id, err: String(err) });
        return;
      }
    }
    // Members whose node died expire by TTL; one node reports each once (the registry guarantees it).
    try {
      await this.clients.announceExpired(await this.presence.sweep());
    } catch (err) {
      this.log.warn({ msg: 'presence sweep failed', err: String(err) });
    }
  }

  /**
   * Graceful drain: stop accepting (the transports check `draining`), then close sessions with the
   * SHUTDOWN code spread evenly over the drain window, so clients reconnect elsewhere without a
   * synchronized storm. Presence is left to expire by TTL (DESIGN.md "Push dispatch").
   */
  async drain(windowMs = this.config.shutdown.drainSeconds * 1000): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const sessions = [...this.hub.allSessions()];
    if (sessions.length === 0) return;
    this.log.log({ msg: 'draining', sessions: sessions.length, windowMs });
    const step = windowMs / sessions.length;
    const start = Date.now();
    for (let i = 0; i < sessions.length; i++) {
      const due = start + i * step;
      const wait = due - Date.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      sessions[i].transport.close(DisconnectCode.SHUTDOWN, undefined, SHUTDOWN_ADVICE);
    }
  }

  /** Last resort when the app is closed without the runtime's drain (it is a no-op after a drain). */
  async onApplicationShutdown(): Promise<void> {
    await this.drain(0);
  }
}
