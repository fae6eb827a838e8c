import { Inject, Injectable, Optional } from '@nestjs/common';
import { BUS, Topics, type Bus } from '@herald/bus';
import { NODE_CONFIG, type AppConfig, type NodeConfig } from '@herald/config';
import { HISTORY_STORE, type HistoryStore } from '@herald/history';
import {
  MAX_LISTED_CHANNELS,
  OCCUPANCY_COUNTER,
  PRESENCE_REGISTRY,
  occupancyChannelKey,
  type OccupancyCounter,
  type PresenceRegistry,
} from '@herald/presence';
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
    @Optional() @Inject(OCCUPANCY_COUNTER) private readonly occupancy?: OccupancyCounter,
  ) {}

  /**
   * Channel counts come from the shared OccupancyCounter in a cluster (presence on Redis: the api
   * process holds no sessions), and from this node's Hub on one node, where it sees everything.
   */
  private get clusterCounts(): OccupancyCounter | undefined {
    return this.config.drivers.presence === 'redis' ? this.occupancy : undefined;
  }

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
   * Channels with subscribers and their subscriber counts, in byte order of their names. One node
   * sees every connection in its Hub; a cluster reads the per-gateway counts every gateway keeps in
   * the OccupancyCounter (at most MAX_LISTED_CHANNELS, the first in order: narrow with a prefix).
   * A gateway that died without closing its connections still counts until its lease expires.
   */
  async channels(app: AppConfig, prefix = ''): Promise<{ channel: string; subscribers: number }[]> {
    const counts = this.clusterCounts;
    if (!counts) return this.hub.channels(app.id, prefix);
    const entries = await counts.list(app.id, occupancyChannelKey(prefix), MAX_LISTED_CHANNELS);
    const skip = occupancyChannelKey('').length;
    return entries.map((e) => ({ channel: e.key.slice(skip), subscribers: e.count }));
  }

  /** Subscriptions to one channel: cluster-wide in a cluster, as `channels`. */
  async subscriptionCount(app: AppConfig, channel: string): Promise<number> {
    const counts = this.clusterCounts;
    if (!counts)
      return this.hub.channels(app.id, channel).find((c) => c.channel === channel)?.subscribers ?? 0;
    return counts.count(app.id, occupancyChannelKey(channel));
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

  /**
   * The answering node and the app's live connections: this node's on one node; in a cluster
   * (presence on Redis, where every connection is registered) the whole cluster's, since the api
   * process holds none.
   */
  async info(app: AppConfig): Promise<{ node: string; connections: number }> {
    if (this.config.drivers.presence === 'redis')
      return { node: this.config.nodeId, connections: await this.presence.countConnections(app.id) };
    let connections = 0;
    for (const s of this.hub.allSessions()) if (s.app.id === app.id) connections++;
    return { node: this.config.nodeId, connections };
  }

  private async control(msg: ControlMessage): Promise<void> {
    await this.bus.publish(Topics.CONTROL, msg.a, encodeControl(msg));
  }
}
