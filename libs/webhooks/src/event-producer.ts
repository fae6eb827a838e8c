import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { BUS, Topics, type Bus } from '@herald/bus';
import { NODE_CONFIG, type NodeConfig } from '@herald/config';
import { encodeEventRecord, eventKey, type WebhookEvent, type WebhookEventName } from './events.js';
import { WEBHOOK_INTEREST, type WebhookInterest } from './interest.js';
import type { LifecycleEvents } from '@herald/presence';
import {
  OCCUPANCY_COUNTER,
  occupancyChannelKey,
  occupancyMemberKey,
  parseOccupancyKey,
  type OccupancyCounter,
  type VacatedKey,
} from '@herald/presence';
import { WEBHOOK_SCHEDULER, type Scheduler } from './timers.js';

/**
 * Turns the core's lifecycle reports into webhook events on the Bus (`herald.events`).
 *
 * Occupied/vacated and member events come from the shared OccupancyCounter, so they are
 * cluster-wide: the first subscription anywhere announces `channel_occupied`; the last one going
 * away schedules a check after `occupancyDebounceMilliseconds`, and only if the channel is still
 * empty then is `channel_vacated` sent. A reconnect inside the window therefore sends nothing.
 * Per (app, key) the work is chained, so one node's events for a channel are produced in order.
 *
 * Counts are per gateway with a lease (OccupancyCounter): the keys that a dead gateway's sweep
 * brings to zero come back through `swept()` on the one node whose sweep removed them, and go
 * through the same debounced check, so `channel_vacated` / `member_removed` follow exactly once.
 */
@Injectable()
export class BusLifecycleEvents implements LifecycleEvents {
  private readonly log = new Logger('WebhookEvents');
  private readonly chains = new Map<string, Promise<void>>();
  private readonly debounceMs: number;

  constructor(
    @Inject(BUS) private readonly bus: Bus,
    @Inject(OCCUPANCY_COUNTER) private readonly counter: OccupancyCounter,
    @Inject(WEBHOOK_SCHEDULER) private readonly scheduler: Scheduler,
    @Inject(NODE_CONFIG) config: NodeConfig,
    /** When set, events no endpoint of the app wants are not produced (counting goes on). */
    @Optional() @Inject(WEBHOOK_INTEREST) private readonly interest?: WebhookInterest | null,
  ) {
    this.debounceMs = config.webhooks.occupancyDebounceMilliseconds;
  }

  connectionOpened(appId: string, client: string, user: string): void {
    this.serial(appId, `@user:${user}`, () =>
      this.emit(appId, { name: 'connection_opened', user_id: user, client_id: client }),
    );
  }

  connectionClosed(appId: string, client: string, user: string): void {
    this.serial(appId, `@user:${user}`, () =>
      this.emit(appId, { name: 'connection_closed', user_id: user, client_id: client }),
    );
  }

  subscribed(appId: string, channel: string, client: string, presenceUser?: string): void {
    this.serial(appId, channel, async () => {
      const ck = occupancyChannelKey(channel);
      if ((await this.counter.add(appId, ck, 1)) === 1) {
        if (!(await this.counter.setAnnounced(appId, ck, true)))
          await this.emit(appId, { name: 'channel_occupied', channel });
      }
      if (presenceUser !== undefined) {
        const key = occupancyMemberKey(channel, presenceUser);
        if ((await this.counter.add(appId, key, 1)) === 1) {
          if (!(await this.counter.setAnnounced(appId, key, true)))
            await this.emit(appId, {
              name: 'member_added',
              channel,
              user_id: presenceUser,
              client_id: client,
            });
        }
      }
    });
  }

  unsubscribed(appId: string, channel: string, client: string, presenceUser?: string): void {
    this.serial(appId, channel, async () => {
      if (presenceUser !== undefined) {
        const key = occupancyMemberKey(channel, presenceUser);
        if ((await this.counter.add(appId, key, -1)) === 0)
          this.later(appId, channel, key, {
            name: 'member_removed',
            channel,
            user_id: presenceUser,
            client_id: client,
          });
      }
      const ck = occupancyChannelKey(channel);
      if ((await this.counter.add(appId, ck, -1)) === 0)
        this.later(appId, channel, ck, { name: 'channel_vacated', channel });
    });
  }

  /**
   * Keys that a sweep brought to zero (their gateway died): announced removals follow after the
   * debounce window like any other, unless someone subscribed again meanwhile. The dead gateway's
   * connection ids are not known here, so `member_removed` carries the user only.
   */
  swept(keys: readonly VacatedKey[]): void {
    // Members first, as when the last connection unsubscribes.
    const ordered = [...keys].sort((a, b) => Number(a.key.startsWith('c:')) - Number(b.key.startsWith('c:')));
    for (const { appId, key } of ordered) {
      const parsed = parseOccupancyKey(key);
      if (!parsed) continue;
      const { channel, user } = parsed;
      if (user === undefined) this.later(appId, channel, key, { name: 'channel_vacated', channel });
      else this.later(appId, channel, key, { name: 'member_removed', channel, user_id: user });
    }
  }

  clientEvent(
    appId: string,
    channel: string,
    client: string,
    user: string,
    data: unknown,
    eventName?: string,
  ): void {
    this.serial(appId, channel, () =>
      this.emit(appId, {
        name: 'client_event',
        channel,
        user_id: user,
        client_id: client,
        data,
        ...(eventName !== undefined ? { event: eventName } : {}),
      }),
    );
  }

  /** After the debounce window: announce the removal only if the key is still empty. */
  private later(
    appId: string,
    channel: string,
    key: string,
    event: Omit<WebhookEvent, 'id' | 'time_ms'>,
  ): void {
    const check = () =>
      this.serial(appId, channel, async () => {
        if ((await this.counter.count(appId, key)) !== 0) return;
        if (await this.counter.setAnnounced(appId, key, false)) await this.emit(appId, event);
      });
    if (this.debounceMs === 0) check();
    else this.scheduler.setTimer(check, this.debounceMs);
  }

  private async emit(
    appId: string,
    partial: Omit<WebhookEvent, 'id' | 'time_ms'> & { name: WebhookEventName },
  ): Promise<void> {
    if (this.interest && !(await this.interest.wants(appId, partial))) return;
    const event: WebhookEvent = { id: `evt_${randomUUID()}`, ...partial, time_ms: this.scheduler.now() };
    await this.bus.publish(Topics.EVENTS, eventKey(appId, event), encodeEventRecord({ app: appId, event }));
  }

  /** Chains work per (app, channel) so one node's events for a channel keep their order. */
  private serial(appId: string, scope: string, work: () => Promise<void>): void {
    const k = `${appId}\u0000${scope}`;
    const next = (this.chains.get(k) ?? Promise.resolve())
      .then(work)
      .catch((err: unknown) =>
        this.log.warn({ msg: 'webhook event not produced', app: appId, err: String(err) }),
      );
    this.chains.set(k, next);
    void next.then(() => {
      if (this.chains.get(k) === next) this.chains.delete(k);
    });
  }

  /** Resolves when every event reported so far has been produced (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }
}
