import { Inject, Injectable } from '@nestjs/common';
import { BUS, Topics, type Bus } from '@herald/bus';
import { NODE_CONFIG, type AppConfig, type NodeConfig } from '@herald/config';
import { HISTORY_STORE, type HistoryStore } from '@herald/history';
import { PRESENCE_REGISTRY, type PresenceRegistry } from '@herald/presence';
import {
  DisconnectCode,
  ErrorCode,
  HeraldError,
  type ClientInfo,
  type Publication,
  type StreamPosition,
} from '@herald/protocol';
import { REVOCATION_STORE, type RevocationStore } from '@herald/state';
import { resolveChannel } from './channel-access.js';
import { readHistory } from './client.service.js';
import { encodeControl, type ControlMessage } from './envelope.js';
import { Hub } from './hub.js';

/**
 * What a tenant's server may ask besides publishing (REST API): presence, history, channels,
 * and cluster-wide user control. Control actions go through the bus control topic so every node
 * applies them to its own sessions.
 */
@Injectable()
export class ServerApiService {
  constructor(
    @Inject(BUS) private readonly bus: Bus,
    @Inject(HISTORY_STORE) private readonly historyStore: HistoryStore,
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    @Inject(PRESENCE_REGISTRY) private readonly presence: PresenceRegistry,
    @Inject(REVOCATION_STORE) private readonly revocations: RevocationStore,
    private readonly hub: Hub,
  ) {}

  async presenceMembers(app: AppConfig, channel: string): Promise<ClientInfo[]> {
    const ch = resolveChannel(app, channel);
    if (!ch.options.presence)
      throw new HeraldError(ErrorCode.NOT_AVAILABLE, 'presence is not enabled for this channel');
    const members = await this.presence.members(app.id, channel);
    return members.map((m) => (m.info === undefined ? { user: m.user, client: m.client } : m));
  }

  async presenceStats(app: AppConfig, channel: string): Promise<{ num_clients: number; num_users: number }> {
    const ch = resolveChannel(app, channel);
    if (!ch.options.presence)
      throw new HeraldError(ErrorCode.NOT_AVAILABLE, 'presence is not enabled for this channel');
    const s = await this.presence.stats(app.id, channel);
    return { num_clients: s.numClients, num_users: s.numUsers };
  }

  async history(
    app: AppConfig,
    channel: string,
    opts: { limit?: number; since?: StreamPosition; reverse?: boolean },
  ): Promise<{ publications: Publication[]; offset: number; epoch: string }> {
    const ch = resolveChannel(app, channel);
    if (ch.options.historySize <= 0)
      throw new HeraldError(ErrorCode.NOT_AVAILABLE, 'history is not enabled for this channel');
    return readHistory(this.historyStore, app.id, channel, opts);
  }

  /**
   * Channels with subscribers and their subscriber counts. In the single-process broker this
   * node sees every connection; a cluster gathers the counts from every node (cluster issue).
   */
  channels(app: AppConfig, prefix = ''): { channel: string; subscribers: number }[] {
    return this.hub.channels(app.id, prefix);
  }

  async disconnectUser(app: AppConfig, user: string): Promise<void> {
    await this.control({ k: 'disconnect', a: app.id, u: user, code: DisconnectCode.FORCE_DISCONNECT.code });
  }

  async unsubscribeUser(app: AppConfig, user: string, channel: string): Promise<void> {
    resolveChannel(app, channel);
    await this.control({ k: 'unsubscribe', a: app.id, u: user, c: channel });
  }

  /** Revokes one token by `jti` until it would have expired anyway (`expiresAt`, unix seconds). */
  async revokeToken(app: AppConfig, jti: string, expiresAt: number): Promise<void> {
    const ttlMs = Math.max(1000, expiresAt * 1000 - Date.now());
    await this.revocations.revokeToken(app.id, jti, ttlMs);
    await this.control({ k: 'revoke', a: app.id, jti });
  }

  /** Revokes every token of a user issued before `issuedBefore` (unix seconds) for `ttlSeconds`. */
  async revokeUserTokens(
    app: AppConfig,
    user: string,
    issuedBefore: number,
    ttlSeconds: number,
  ): Promise<void> {
    await this.revocations.revokeUser(app.id, user, issuedBefore, ttlSeconds * 1000);
    await this.control({ k: 'revoke', a: app.id, u: user, before: issuedBefore });
  }

  /** This node's view (the cluster issue aggregates nodes). */
  info(app: AppConfig): { node: string; connections: number } {
    let connections = 0;
    for (const s of this.hub.allSessions()) if (s.app.id === app.id) connections++;
    return { node: this.config.nodeId, connections };
  }

  private async control(msg: ControlMessage): Promise<void> {
    await this.bus.publish(Topics.CONTROL, msg.a, encodeControl(msg));
  }
}
