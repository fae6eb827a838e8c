import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  Optional,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
  type Provider,
} from '@nestjs/common';
import type { Registry } from 'prom-client';
import { BUS, type Bus } from '@herald/bus';
import { NODE_CONFIG, type NodeConfig } from '@herald/config';
import {
  CONTROL_ADMIN,
  CONTROL_STORE,
  SQL_CONTROL,
  type ControlAdmin,
  type ControlStore,
  type SqlControl,
} from '@herald/control';
import { METRICS_REGISTRY } from '@herald/observability';
import { OCCUPANCY_COUNTER, type OccupancyCounter } from '@herald/presence';
import { DeliveryCounters, WebhookDispatcher } from './dispatcher.js';
import {
  ControlWebhookEndpointSource,
  StaticWebhookEndpointSource,
  WEBHOOK_ENDPOINT_SOURCE,
  type WebhookEndpointSource,
} from './endpoints.js';
import { BusLifecycleEvents } from './event-producer.js';
import { WEBHOOK_INTEREST, WebhookInterest } from './interest.js';
import { LIFECYCLE_EVENTS } from '@herald/presence';
import { MemoryWebhookStore } from './memory/memory.webhook-store.js';
import { WebhookMetrics } from './metrics.js';
import { NodeHttpWebhookSender, WEBHOOK_SENDER, type WebhookSender } from './sender.js';
import { AddressPolicy } from './ssrf.js';
import { WEBHOOK_SCHEDULER, realScheduler, type Scheduler } from './timers.js';
import { WEBHOOK_STORE, type WebhookStore } from './webhook-store.js';
import { SqlWebhookStore } from './sql/sql.webhook-store.js';

/** How often dispatchers sharing a SQL store look for work they were not told about. */
const SHARED_STORE_POLL_MS = 1000;

/** The store driver `webhooks.store` selects (`auto`: sql with a postgres control plane). */
export function webhookStoreDriver(config: NodeConfig): 'memory' | 'sql' {
  const chosen = config.webhooks.store;
  if (chosen === 'auto') return config.control.driver === 'postgres' ? 'sql' : 'memory';
  if (chosen === 'sql' && config.control.driver === 'config')
    throw new Error('webhooks.store sql needs a SQL control plane (control.driver pglite or postgres)');
  return chosen;
}

function storeProvider(config?: NodeConfig): Provider {
  if (config && webhookStoreDriver(config) === 'sql')
    return {
      provide: WEBHOOK_STORE,
      useFactory: (sql: SqlControl) => new SqlWebhookStore(sql.client),
      inject: [SQL_CONTROL],
    };
  return { provide: WEBHOOK_STORE, useClass: MemoryWebhookStore };
}

/**
 * Keeps this node's occupancy lease and sweeps the leases of dead nodes (every node does, a third of
 * the lease apart; the counter guarantees each dead node's keys are reported once), handing the keys
 * a sweep emptied to the event producer.
 */
@Injectable()
export class OccupancyLeaseKeeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('OccupancyLease');
  private cancel?: () => void;
  private stopped = false;
  private readonly intervalMs: number;

  constructor(
    @Inject(OCCUPANCY_COUNTER) private readonly counter: OccupancyCounter,
    @Inject(WEBHOOK_SCHEDULER) private readonly scheduler: Scheduler,
    private readonly events: BusLifecycleEvents,
    @Inject(NODE_CONFIG) config: NodeConfig,
  ) {
    this.intervalMs = Math.max(100, Math.floor(config.presence.occupancyLeaseMilliseconds / 3));
  }

  onApplicationBootstrap(): void {
    this.schedule();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    this.cancel?.();
  }

  /** One heartbeat and one sweep (also called by tests). */
  async tick(): Promise<void> {
    try {
      await this.counter.heartbeat();
    } catch (err) {
      this.log.warn({ msg: 'occupancy heartbeat failed', err: String(err) });
    }
    try {
      this.events.swept(await this.counter.sweep());
    } catch (err) {
      this.log.warn({ msg: 'occupancy sweep failed', err: String(err) });
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.cancel = this.scheduler.setTimer(() => {
      void this.tick().finally(() => this.schedule());
    }, this.intervalMs);
  }
}

/**
 * Producer side, imported by every process that serves connections (gateway, standalone): provides
 * LIFECYCLE_EVENTS, which the core calls, producing to `herald.events`. Occupancy is counted by the
 * OccupancyCounter of the presence module (memory: one node; Redis: cluster-wide first and last
 * subscriber, per gateway with a lease that this module keeps and sweeps).
 */
@Global()
@Module({})
export class WebhookEventsModule {
  /** `config` is accepted for symmetry with the other modules; the drivers come from PortsModule. */
  static forRoot(_config?: NodeConfig): DynamicModule {
    return {
      module: WebhookEventsModule,
      providers: [
        { provide: WEBHOOK_SCHEDULER, useValue: realScheduler },
        {
          // Endpoint lists from the SQL control plane (none without one: produce everything).
          provide: WEBHOOK_INTEREST,
          useFactory: (admin?: ControlAdmin) => (admin ? new WebhookInterest(admin) : null),
          inject: [{ token: CONTROL_ADMIN, optional: true }],
        },
        BusLifecycleEvents,
        { provide: LIFECYCLE_EVENTS, useExisting: BusLifecycleEvents },
        OccupancyLeaseKeeper,
      ],
      exports: [LIFECYCLE_EVENTS, WEBHOOK_SCHEDULER, BusLifecycleEvents],
    };
  }
}

/** Starts the dispatcher with the application and stops it (gracefully) on shutdown. */
@Injectable()
export class WebhookDispatcherLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(private readonly dispatcher: WebhookDispatcher) {}

  onApplicationBootstrap(): Promise<void> {
    return this.dispatcher.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.dispatcher.stop();
  }
}

/** Registers the webhook metrics on the node's /metrics registry when there is one. */
@Injectable()
export class WebhookMetricsRegistration implements OnModuleInit {
  constructor(
    private readonly metrics: WebhookMetrics,
    @Optional() @Inject(METRICS_REGISTRY) private readonly registry?: Registry,
  ) {}

  onModuleInit(): void {
    if (this.registry) this.metrics.register(this.registry);
  }
}

/**
 * The store alone, for a process that serves the admin API without delivering (api in a cluster):
 * with the SQL store it lists and replays the dead letters the dispatchers write, and the
 * dispatchers pick replayed events up within SHARED_STORE_POLL_MS. With the memory store there is
 * nothing to share, so nothing is provided (the admin API answers NOT_AVAILABLE).
 */
@Global()
@Module({})
export class WebhookStoreModule {
  static forRoot(config: NodeConfig): DynamicModule {
    const shared = webhookStoreDriver(config) === 'sql';
    return {
      module: WebhookStoreModule,
      providers: shared ? [storeProvider(config)] : [],
      exports: shared ? [WEBHOOK_STORE] : [],
    };
  }
}

/**
 * Delivery side (webhook-dispatcher and standalone): the dispatcher, its store (`webhooks.store`:
 * memory, or the SQL control database shared by every replica), the SSRF-checked HTTP sender and
 * the metrics. Endpoints come from the SQL control store; with the `config` control driver there
 * are none.
 */
@Global()
@Module({})
export class WebhooksModule {
  /** `config` picks the store driver; none: memory. */
  static forRoot(config?: NodeConfig): DynamicModule {
    const shared = config !== undefined && webhookStoreDriver(config) === 'sql';
    return {
      module: WebhooksModule,
      providers: [
        { provide: WEBHOOK_SCHEDULER, useValue: realScheduler },
        storeProvider(config),
        DeliveryCounters,
        {
          provide: WEBHOOK_SENDER,
          useFactory: (config: NodeConfig) =>
            new NodeHttpWebhookSender(new AddressPolicy(config.webhooks.allowNetworks)),
          inject: [NODE_CONFIG],
        },
        {
          provide: WEBHOOK_ENDPOINT_SOURCE,
          useFactory: (admin?: ControlAdmin, apps?: ControlStore) =>
            admin ? new ControlWebhookEndpointSource(admin, apps) : new StaticWebhookEndpointSource([]),
          inject: [
            { token: CONTROL_ADMIN, optional: true },
            { token: CONTROL_STORE, optional: true },
          ],
        },
        {
          provide: WebhookDispatcher,
          useFactory: (
            bus: Bus,
            store: WebhookStore,
            endpoints: WebhookEndpointSource,
            sender: WebhookSender,
            scheduler: Scheduler,
            config: NodeConfig,
            counters: DeliveryCounters,
          ) =>
            new WebhookDispatcher({
              bus,
              store,
              endpoints,
              sender,
              scheduler,
              config: config.webhooks,
              counters,
              ...(shared ? { pollMs: SHARED_STORE_POLL_MS } : {}),
            }),
          inject: [
            BUS,
            WEBHOOK_STORE,
            WEBHOOK_ENDPOINT_SOURCE,
            WEBHOOK_SENDER,
            WEBHOOK_SCHEDULER,
            NODE_CONFIG,
            DeliveryCounters,
          ],
        },
        {
          provide: WebhookMetrics,
          useFactory: (c: DeliveryCounters, s: WebhookStore, t: Scheduler) => new WebhookMetrics(c, s, t),
          inject: [DeliveryCounters, WEBHOOK_STORE, WEBHOOK_SCHEDULER],
        },
        WebhookMetricsRegistration,
        WebhookDispatcherLifecycle,
      ],
      exports: [WEBHOOK_STORE, WebhookDispatcher, WebhookMetrics],
    };
  }
}
