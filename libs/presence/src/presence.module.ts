import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { RedisConnectionHolder, type RedisConnectionOptions } from '@herald/redis';
import { NODE_DIRECTORY } from './node-directory.js';
import { DEFAULT_OCCUPANCY_LEASE_MS, OCCUPANCY_COUNTER } from './occupancy-counter.js';
import { PRESENCE_REGISTRY } from './presence-registry.js';
import { MemoryOccupancyCounter } from './memory/memory.occupancy-counter.js';
import { MemoryNodeDirectory } from './memory/memory.node-directory.js';
import {
  MemoryPresenceRegistry,
  type MemoryPresenceRegistryOptions,
} from './memory/memory.presence-registry.js';
import { RedisNodeDirectory } from './redis/redis.node-directory.js';
import { RedisOccupancyCounter } from './redis/redis.occupancy-counter.js';
import { RedisPresenceRegistry, type RedisPresenceRegistryOptions } from './redis/redis.presence-registry.js';

/** Drivers of the PresenceRegistry port; the composition root picks one from validated config. */
export type PresenceDriver = 'memory' | 'redis';

export interface PresenceModuleOptions {
  driver: PresenceDriver;
  memory?: MemoryPresenceRegistryOptions;
  /** Required by the `redis` driver; the connection is shared with the other modules' Redis drivers. */
  redis?: RedisConnectionOptions & Omit<RedisPresenceRegistryOptions, 'connection'>;
  /** The OccupancyCounter's node id and lease (default `local`, DEFAULT_OCCUPANCY_LEASE_MS). */
  occupancy?: { node: string; leaseMs: number };
}

/** Holds this module's share of the process-wide Redis connection (released at shutdown). */
const PRESENCE_REDIS = Symbol('PresenceRedisConnection');

/**
 * Provides PRESENCE_REGISTRY, NODE_DIRECTORY (which node is live where: liveness of nodes, as
 * presence is liveness of connections) and OCCUPANCY_COUNTER (subscriptions per channel, per node
 * with a lease) to the whole application (global), built by the configured driver.
 */
@Module({})
export class PresenceModule {
  static forRoot(options: PresenceModuleOptions): DynamicModule {
    return {
      module: PresenceModule,
      global: true,
      providers: createProviders(options),
      exports: [PRESENCE_REGISTRY, NODE_DIRECTORY, OCCUPANCY_COUNTER],
    };
  }
}

/** The one place that maps a driver name to an implementation. */
function createProviders(options: PresenceModuleOptions): Provider[] {
  const occupancy = options.occupancy ?? { node: 'local', leaseMs: DEFAULT_OCCUPANCY_LEASE_MS };
  switch (options.driver) {
    case 'memory':
      return [
        { provide: PRESENCE_REGISTRY, useFactory: () => new MemoryPresenceRegistry(options.memory) },
        { provide: NODE_DIRECTORY, useFactory: () => new MemoryNodeDirectory() },
        { provide: OCCUPANCY_COUNTER, useFactory: () => new MemoryOccupancyCounter(occupancy) },
      ];
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
        {
          provide: NODE_DIRECTORY,
          inject: [PRESENCE_REDIS],
          useFactory: (holder: RedisConnectionHolder) =>
            new RedisNodeDirectory({ connection: holder.connection }),
        },
        {
          provide: OCCUPANCY_COUNTER,
          inject: [PRESENCE_REDIS],
          useFactory: (holder: RedisConnectionHolder) =>
            new RedisOccupancyCounter({ connection: holder.connection, ...occupancy }),
        },
      ];
    }
    default:
      throw new Error(`unknown presence driver: ${String(options.driver satisfies never)}`);
  }
}
