import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { RedisConnectionHolder, type RedisConnectionOptions } from '@herald/redis';
import { PRESENCE_REGISTRY } from './presence-registry.js';
import {
  MemoryPresenceRegistry,
  type MemoryPresenceRegistryOptions,
} from './memory/memory.presence-registry.js';
import { RedisPresenceRegistry, type RedisPresenceRegistryOptions } from './redis/redis.presence-registry.js';

/** Drivers of the PresenceRegistry port; the composition root picks one from validated config. */
export type PresenceDriver = 'memory' | 'redis';

export interface PresenceModuleOptions {
  driver: PresenceDriver;
  memory?: MemoryPresenceRegistryOptions;
  /** Required by the `redis` driver; the connection is shared with the other modules' Redis drivers. */
  redis?: RedisConnectionOptions & Omit<RedisPresenceRegistryOptions, 'connection'>;
}

/** Holds this module's share of the process-wide Redis connection (released at shutdown). */
const PRESENCE_REDIS = Symbol('PresenceRedisConnection');

/** Provides PRESENCE_REGISTRY to the whole application (global), built by the configured driver. */
@Module({})
export class PresenceModule {
  static forRoot(options: PresenceModuleOptions): DynamicModule {
    return {
      module: PresenceModule,
      global: true,
      providers: createProviders(options),
      exports: [PRESENCE_REGISTRY],
    };
  }
}

/** The one place that maps a driver name to an implementation. */
function createProviders(options: PresenceModuleOptions): Provider[] {
  switch (options.driver) {
    case 'memory':
      return [{ provide: PRESENCE_REGISTRY, useFactory: () => new MemoryPresenceRegistry(options.memory) }];
    case 'redis': {
      const redis = options.redis;
      if (!redis) throw new Error('presence driver redis needs the redis options');
      return [
        { provide: PRESENCE_REDIS, useFactory: () => new RedisConnectionHolder(redis) },
        {
          provide: PRESENCE_REGISTRY,
          inject: [PRESENCE_REDIS],
          useFactory: (holder: RedisConnectionHolder) =>
            new RedisPresenceRegistry({ ...redis, connection: holder.connection }),
        },
      ];
    }
    default:
      throw new Error(`unknown presence driver: ${String(options.driver satisfies never)}`);
  }
}
