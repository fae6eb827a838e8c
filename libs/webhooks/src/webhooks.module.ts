import {
  Global,
  Injectable,
  Module,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { BUS, type Bus } from '@herald/bus';
import { NODE_CONFIG, type NodeConfig } from '@herald/config';
import { CONTROL_ADMIN, type ControlAdmin } from '@herald/control';
import { DeliveryCounters, WebhookDispatcher } from './dispatcher.js';
import {
  ControlWebhookEndpointSource,
  StaticWebhookEndpointSource,
  WEBHOOK_ENDPOINT_SOURCE,
  type WebhookEndpointSource,
} from './endpoints.js';
import { BusLifecycleEvents } from './event-producer.js';
import { LIFECYCLE_EVENTS } from './lifecycle-events.js';
import { MemoryOccupancyCounter } from './memory/memory.occupancy-counter.js';
import { MemoryWebhookStore } from './memory/memory.webhook-store.js';
import { WebhookMetrics } from './metrics.js';
import { OCCUPANCY_COUNTER } from './occupancy.js';
import { NodeHttpWebhookSender, WEBHOOK_SENDER, type WebhookSender } from './sender.js';
import { AddressPolicy } from './ssrf.js';
import { WEBHOOK_SCHEDULER, realScheduler, type Scheduler } from './timers.js';
import { WEBHOOK_STORE, type WebhookStore } from './webhook-store.js';

/**
 * Producer side, imported by every process that runs the core (gateway, api, standalone): provides
 * LIFECYCLE_EVENTS, which the core calls, and the occupancy counter (memory: one node only).
 */
@Global()
@Module({})
export class WebhookEventsModule {
  static forRoot(): DynamicModule {
    return {
      module: WebhookEventsModule,
      providers: [
        { provide: WEBHOOK_SCHEDULER, useValue: realScheduler },
        { provide: OCCUPANCY_COUNTER, useClass: MemoryOccupancyCounter },
        BusLifecycleEvents,
        { provide: LIFECYCLE_EVENTS, useExisting: BusLifecycleEvents },
      ],
      exports: [LIFECYCLE_EVENTS, OCCUPANCY_COUNTER, WEBHOOK_SCHEDULER, BusLifecycleEvents],
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

/**
 * Delivery side (webhook-dispatcher and standalone): the dispatcher, its store (memory: the
 * standalone node's bus is in memory too), the SSRF-checked HTTP sender and the metrics.
 * Endpoints come from the SQL control store; with the `config` control driver there are none.
 */
@Global()
@Module({})
export class WebhooksModule {
  static forRoot(): DynamicModule {
    return {
      module: WebhooksModule,
      providers: [
        { provide: WEBHOOK_SCHEDULER, useValue: realScheduler },
        { provide: WEBHOOK_STORE, useClass: MemoryWebhookStore },
        DeliveryCounters,
        {
          provide: WEBHOOK_SENDER,
          useFactory: (config: NodeConfig) =>
            new NodeHttpWebhookSender(new AddressPolicy(config.webhooks.allowNetworks)),
          inject: [NODE_CONFIG],
        },
        {
          provide: WEBHOOK_ENDPOINT_SOURCE,
          useFactory: (admin?: ControlAdmin) =>
            admin ? new ControlWebhookEndpointSource(admin) : new StaticWebhookEndpointSource([]),
          inject: [{ token: CONTROL_ADMIN, optional: true }],
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
        WebhookDispatcherLifecycle,
      ],
      exports: [WEBHOOK_STORE, WebhookDispatcher, WebhookMetrics],
    };
  }
}
