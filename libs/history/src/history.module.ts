import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { RedisConnectionHolder, type RedisConnectionOptions } from '@herald/redis';
import { HISTORY_STORE } from './history-store.js';
import { MemoryHistoryStore, type MemoryHistoryStoreOptions } from './memory/memory.history-store.js';
import { RedisHistoryStore } from './redis/redis.history-store.js';

/** Drivers of the HistoryStore port; the composition root picks one from validated config. */
export type HistoryDriver = 'memory' | 'redis';

export interface HistoryModuleOptions {
  driver: HistoryDriver;
  memory?: MemoryHistoryStoreOptions;
  /** Required by the `redis` driver; the connection is shared with the other modules' Redis drivers. */
  redis?: RedisConnectionOptions;
}

/** Holds this module's share of the process-wide Redis connection (released at shutdown). */
const HISTORY_REDIS = Symbol('HistoryRedisConnection');

/** Provides HISTORY_STORE to the whole application (global), built by the configured driver. */
@Module({})
export class HistoryModule {
  static forRoot(options: HistoryModuleOptions): DynamicModule {
    return {
      module: HistoryModule,
      global: true,
      providers: createProviders(options),
      exports: [HISTORY_STORE],
    };
  }
}

/** The one place that maps a driver name to an implementation. */
function createProviders(options: HistoryModuleOptions): Provider[] {
  switch (options.driver) {
    case 'memory':
      return [{ provide: HISTORY_STORE, useFactory: () => new MemoryHistoryStore(options.memory) }];
    case 'redis': {
      const redis = options.redis;
      if (!redis) throw new Error('history driver redis needs the redis options');
      return [
        { provide: HISTORY_REDIS, useFactory: () => new RedisConnectionHolder(redis) },
        {
          provide: HISTORY_STORE,
          inject: [HISTORY_REDIS],
          useFactory: (holder: RedisConnectionHolder) =>
            new RedisHistoryStore({ connection: holder.connection }),
        },
      ];
    }
    default:
      throw new Error(`unknown history driver: ${String(options.driver satisfies never)}`);
  }
}
