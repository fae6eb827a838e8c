import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { RedisConnectionHolder, type RedisConnectionOptions } from '@herald/redis';
import { IDEMPOTENCY_STORE } from './idempotency-store.js';
import { RATE_LIMITER } from './rate-limiter.js';
import { REVOCATION_STORE } from './revocation-store.js';
import { TICKET_STORE } from './ticket-store.js';
import { MemoryIdempotencyStore } from './memory/memory.idempotency-store.js';
import { MemoryRateLimiter } from './memory/memory.rate-limiter.js';
import { MemoryRevocationStore } from './memory/memory.revocation-store.js';
import { MemoryTicketStore } from './memory/memory.ticket-store.js';
import type { MemoryStoreOptions } from './memory/ttl-map.js';
import { RedisIdempotencyStore } from './redis/redis.idempotency-store.js';
import { RedisRateLimiter } from './redis/redis.rate-limiter.js';
import { RedisRevocationStore } from './redis/redis.revocation-store.js';
import { RedisTicketStore } from './redis/redis.ticket-store.js';

/** Drivers of the small state ports; the composition root picks one from validated config. */
export type StateDriver = 'memory' | 'redis';

export interface StateModuleOptions {
  driver: StateDriver;
  memory?: MemoryStoreOptions;
  /** Required by the `redis` driver; the connection is shared with the other modules' Redis drivers. */
  redis?: RedisConnectionOptions;
}

/** Holds this module's share of the process-wide Redis connection (released at shutdown). */
const STATE_REDIS = Symbol('StateRedisConnection');

const TOKENS = [RATE_LIMITER, IDEMPOTENCY_STORE, TICKET_STORE, REVOCATION_STORE];

/**
 * Provides RATE_LIMITER, IDEMPOTENCY_STORE, TICKET_STORE and REVOCATION_STORE to the whole
 * application (global), built by the configured driver.
 */
@Module({})
export class StateModule {
  static forRoot(options: StateModuleOptions): DynamicModule {
    return { module: StateModule, global: true, providers: createProviders(options), exports: TOKENS };
  }
}

/** The one place that maps a driver name to implementations. */
function createProviders(options: StateModuleOptions): Provider[] {
  switch (options.driver) {
    case 'memory': {
      const o = options.memory;
      return [
        { provide: RATE_LIMITER, useFactory: () => new MemoryRateLimiter(o) },
        { provide: IDEMPOTENCY_STORE, useFactory: () => new MemoryIdempotencyStore(o) },
        { provide: TICKET_STORE, useFactory: () => new MemoryTicketStore(o) },
        { provide: REVOCATION_STORE, useFactory: () => new MemoryRevocationStore(o) },
      ];
    }
    case 'redis': {
      const redis = options.redis;
      if (!redis) throw new Error('state driver redis needs the redis options');
      const inject = [STATE_REDIS];
      return [
        { provide: STATE_REDIS, useFactory: () => new RedisConnectionHolder(redis) },
        {
          provide: RATE_LIMITER,
          inject,
          useFactory: (h: RedisConnectionHolder) => new RedisRateLimiter({ connection: h.connection }),
        },
        {
          provide: IDEMPOTENCY_STORE,
          inject,
          useFactory: (h: RedisConnectionHolder) => new RedisIdempotencyStore({ connection: h.connection }),
        },
        {
          provide: TICKET_STORE,
          inject,
          useFactory: (h: RedisConnectionHolder) => new RedisTicketStore({ connection: h.connection }),
        },
        {
          provide: REVOCATION_STORE,
          inject,
          useFactory: (h: RedisConnectionHolder) => new RedisRevocationStore({ connection: h.connection }),
        },
      ];
    }
    default:
      throw new Error(`unknown state driver: ${String(options.driver satisfies never)}`);
  }
}
