import { readFileSync } from 'node:fs';
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
} from '@nestjs/common';
import type { Registry } from 'prom-client';
import { BUS, type Bus } from '@herald/bus';
import { NODE_CONFIG, type NodeConfig } from '@herald/config';
import {
  CONTROL_ADMIN,
  DEVICE_STORE,
  PUSH_DEAD_LETTER_STORE,
  USAGE_METER,
  type ControlAdmin,
  type DeviceStore,
  type PushDeadLetterStore,
  type UsageMeter,
} from '@herald/control';
import { METRICS_REGISTRY } from '@herald/observability';
import { PRESENCE_REGISTRY, type PresenceRegistry } from '@herald/presence';
import { RedisConnectionHolder, type RedisConnectionOptions } from '@herald/redis';
import { PushDispatcher } from './dispatcher.js';
import { MemoryPushStateStore } from './memory/memory.push-state-store.js';
import { PushMetrics } from './metrics.js';
import { PUSH_STATE_STORE, type PushStateStore } from './push-state-store.js';
import { RedisPushStateStore } from './redis/redis.push-state-store.js';
import { ApnsSender } from './senders/apns.sender.js';
import { FcmSender } from './senders/fcm.sender.js';
import type { PushCredentialSource } from './senders/push-sender.js';

const PUSH_STATE_REDIS = Symbol('PushStateRedis');

/**
 * PUSH_STATE_STORE for the whole application: acknowledgements (written by the core, read by the
 * dispatcher) and the per-(message, device) send records. Driver from `drivers.state` (memory on
 * one node, Redis in a cluster, sharing the process's Redis connection).
 */
@Global()
@Module({})
export class PushStateModule {
  static forRoot(config: NodeConfig): DynamicModule {
    if (config.drivers.state === 'redis') {
      const redis: RedisConnectionOptions = {
        url: config.redis.url,
        keyPrefix: config.redis.keyPrefix,
        connectTimeoutMs: config.redis.connectTimeoutMilliseconds,
        commandTimeoutMs: config.redis.commandTimeoutMilliseconds,
      };
      return {
        module: PushStateModule,
        providers: [
          { provide: PUSH_STATE_REDIS, useFactory: () => new RedisConnectionHolder(redis) },
          {
            provide: PUSH_STATE_STORE,
            useFactory: (h: RedisConnectionHolder) => new RedisPushStateStore(h.connection),
            inject: [PUSH_STATE_REDIS],
          },
        ],
        exports: [PUSH_STATE_STORE],
      };
    }
    return {
      module: PushStateModule,
      providers: [{ provide: PUSH_STATE_STORE, useFactory: () => new MemoryPushStateStore() }],
      exports: [PUSH_STATE_STORE],
    };
  }
}

/** Credentials from the SQL control store (decrypted for the dispatcher only). */
export class ControlPushCredentials implements PushCredentialSource {
  constructor(private readonly admin: ControlAdmin) {}

  async apns(appId: string) {
    const c = await this.admin.pushCredential(appId, 'apns');
    return c?.provider === 'apns' ? c : undefined;
  }

  async fcm(appId: string) {
    const c = await this.admin.pushCredential(appId, 'fcm');
    return c?.provider === 'fcm' ? c : undefined;
  }
}

/** Starts the dispatcher with the application; stops it on shutdown. Idle without a SQL control store. */
@Injectable()
export class PushDispatcherLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('PushDispatcher');

  constructor(@Optional() @Inject(PushDispatcher) private readonly dispatcher?: PushDispatcher | null) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.dispatcher) {
      this.log.warn(
        'push dispatch is off: devices and credentials need the SQL control store (pglite/postgres)',
      );
      return;
    }
    await this.dispatcher.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.dispatcher?.stop();
  }
}

/**
 * The dispatch side (push-dispatcher and standalone): APNs and FCM senders, the dispatcher and its
 * metrics. Needs PushStateModule and the ports of the composition root (BUS, PRESENCE_REGISTRY, the
 * SQL control store's DEVICE_STORE, PUSH_DEAD_LETTER_STORE and CONTROL_ADMIN).
 */
@Module({})
export class PushDispatchModule {
  static forRoot(): DynamicModule {
    return {
      module: PushDispatchModule,
      providers: [
        {
          provide: PushMetrics,
          useFactory: (registry?: Registry) => new PushMetrics(registry),
          inject: [{ token: METRICS_REGISTRY, optional: true }],
        },
        {
          provide: PushDispatcher,
          useFactory: (
            config: NodeConfig,
            bus: Bus,
            presence: PresenceRegistry,
            state: PushStateStore,
            metrics: PushMetrics,
            devices?: DeviceStore,
            deadLetters?: PushDeadLetterStore,
            admin?: ControlAdmin,
            usage?: UsageMeter,
          ): PushDispatcher | null => {
            if (!devices || !deadLetters || !admin) return null;
            const credentials = new ControlPushCredentials(admin);
            const p = config.push;
            const ca = p.caFile !== undefined ? readFileSync(p.caFile, 'utf8') : undefined;
            const common = { timeoutMs: p.requestTimeoutMilliseconds, ...(ca !== undefined ? { ca } : {}) };
            return new PushDispatcher({
              bus,
              presence,
              devices,
              deadLetters,
              state,
              config: p,
              metrics,
              ...(usage ? { usage } : {}),
              senders: {
                apns: new ApnsSender(credentials, {
                  ...common,
                  ...(p.apnsEndpoint ? { endpoint: p.apnsEndpoint } : {}),
                }),
                fcm: new FcmSender(credentials, {
                  ...common,
                  ...(p.fcmEndpoint ? { endpoint: p.fcmEndpoint } : {}),
                }),
              },
            });
          },
          inject: [
            NODE_CONFIG,
            BUS,
            PRESENCE_REGISTRY,
            PUSH_STATE_STORE,
            PushMetrics,
            { token: DEVICE_STORE, optional: true },
            { token: PUSH_DEAD_LETTER_STORE, optional: true },
            { token: CONTROL_ADMIN, optional: true },
            { token: USAGE_METER, optional: true },
          ],
        },
        PushDispatcherLifecycle,
      ],
      exports: [PushDispatcher, PushMetrics],
    };
  }
}
