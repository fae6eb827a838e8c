import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, Optional, type OnModuleDestroy } from '@nestjs/common';
import { BUS, Topics, type Bus } from '@herald/bus';
import { NODE_CONFIG, type AppConfig, type NodeConfig } from '@herald/config';
import { CONTROL_ADMIN, type ControlAdmin } from '@herald/control';
import { ServerApiService } from '@herald/core';
import { LIFECYCLE_EVENTS, type LifecycleEvents } from '@herald/presence';
import {
  WebhookInterest,
  encodeEventRecord,
  eventKey,
  type WebhookEvent,
  type WebhookEventName,
} from '@herald/webhooks';

/** Most channels remembered per map before stale entries are pruned (one pass per prune). */
const MAX_TRACKED = 10_000;

/**
 * The two Pusher webhooks only the Pusher protocol layer sees (docs/pusher.md "Webhooks"):
 * - `cache_miss`: a Pusher connection subscribed to a `cache-` channel with nothing cached (the
 *   connection got `pusher:cache_miss`). At most one per channel per window on a node.
 * - `subscription_count`: a Pusher connection's subscribe, unsubscribe or close changed the
 *   subscriptions of a channel that is not a presence channel. Changes are coalesced per channel:
 *   the first one opens a window of `pusher.webhookCoalesceMilliseconds`; at its end the channel's
 *   cluster-wide count is read once and sent if it differs from what this node last sent for the
 *   channel (nothing for a subscribe undone inside the window).
 *
 * Both go to `herald.events` like the core's lifecycle events, only on nodes that produce webhook
 * events (LIFECYCLE_EVENTS is bound) and only when an enabled endpoint of the app wants them.
 */
@Injectable()
export class PusherWebhookEvents implements OnModuleDestroy {
  private readonly log = new Logger('PusherWebhookEvents');
  private readonly windowMs: number;
  private readonly interest: WebhookInterest | undefined;
  private readonly active: boolean;
  /** app\0channel → pending count check. */
  private readonly pending = new Map<string, NodeJS.Timeout>();
  /** app\0channel → count last sent by this node (absent: 0). */
  private readonly lastSent = new Map<string, number>();
  /** app\0channel → time of the last cache_miss sent. */
  private readonly misses = new Map<string, number>();

  constructor(
    @Inject(NODE_CONFIG) config: NodeConfig,
    private readonly serverApi: ServerApiService,
    @Optional() @Inject(BUS) private readonly bus?: Bus,
    @Optional() @Inject(LIFECYCLE_EVENTS) events?: LifecycleEvents,
    @Optional() @Inject(CONTROL_ADMIN) admin?: ControlAdmin,
  ) {
    this.windowMs = config.pusher.webhookCoalesceMilliseconds;
    this.active = bus !== undefined && events !== undefined;
    // Without a SQL control plane there is no endpoint list to consult: produce (as the core does).
    this.interest = admin ? new WebhookInterest(admin) : undefined;
  }

  onModuleDestroy(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }

  cacheMiss(app: AppConfig, channel: string): void {
    if (!this.active) return;
    const key = `${app.id}\u0000${channel}`;
    const now = Date.now();
    const last = this.misses.get(key);
    if (last !== undefined && now - last < this.windowMs) return;
    if (this.misses.size >= MAX_TRACKED)
      for (const [k, at] of this.misses) if (now - at >= this.windowMs) this.misses.delete(k);
    this.misses.set(key, now);
    void this.wanted(app.id, 'cache_miss', channel).then(
      (yes) => (yes ? this.emit(app.id, 'cache_miss', channel) : undefined),
      () => undefined,
    );
  }

  /** A Pusher connection's subscription to `channel` began or ended. */
  countChanged(app: AppConfig, channel: string): void {
    if (!this.active || channel.startsWith('presence-') || channel.startsWith('#')) return;
    const key = `${app.id}\u0000${channel}`;
    if (this.pending.has(key)) return;
    const timer = setTimeout(() => {
      this.pending.delete(key);
      void this.sendCount(app, channel, key);
    }, this.windowMs);
    timer.unref();
    this.pending.set(key, timer);
  }

  private async sendCount(app: AppConfig, channel: string, key: string): Promise<void> {
    try {
      // Apps without an endpoint wanting it cost no count read (no Redis call in a cluster).
      if (!(await this.wanted(app.id, 'subscription_count', channel))) return;
      const count = await this.serverApi.subscriptionCount(app, channel);
      if (count === (this.lastSent.get(key) ?? 0)) return;
      if (count === 0) this.lastSent.delete(key);
      else if (this.lastSent.size < MAX_TRACKED || this.lastSent.has(key)) this.lastSent.set(key, count);
      await this.emit(app.id, 'subscription_count', channel, count);
    } catch (err) {
      this.log.warn({ msg: 'subscription_count not produced', app: app.id, err: String(err) });
    }
  }

  /** Whether an enabled endpoint of the app wants the event (fails open, like the core's producer). */
  private async wanted(appId: string, name: WebhookEventName, channel: string): Promise<boolean> {
    return this.interest ? this.interest.wants(appId, { name, channel }) : true;
  }

  private async emit(appId: string, name: WebhookEventName, channel: string, data?: number): Promise<void> {
    const bus = this.bus;
    if (!bus) return;
    try {
      const event: WebhookEvent = {
        id: `evt_${randomUUID()}`,
        name,
        channel,
        ...(data !== undefined ? { data } : {}),
        time_ms: Date.now(),
      };
      await bus.publish(Topics.EVENTS, eventKey(appId, event), encodeEventRecord({ app: appId, event }));
    } catch (err) {
      this.log.warn({ msg: 'webhook event not produced', app: appId, event: name, err: String(err) });
    }
  }
}
