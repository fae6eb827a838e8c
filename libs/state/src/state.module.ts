import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { IDEMPOTENCY_STORE } from './idempotency-store.js';
import { RATE_LIMITER } from './rate-limiter.js';
import { REVOCATION_STORE } from './revocation-store.js';
import { TICKET_STORE } from './ticket-store.js';
import { MemoryIdempotencyStore } from './memory/memory.idempotency-store.js';
import { MemoryRateLimiter } from './memory/memory.rate-limiter.js';
import { MemoryRevocationStore } from './memory/memory.revocation-store.js';
import { MemoryTicketStore } from './memory/memory.ticket-store.js';
import type { MemoryStoreOptions } from './memory/ttl-map.js';

/** Drivers of the small state ports; the composition root picks one from validated config. */
export type StateDriver = 'memory';

export interface StateModuleOptions {
  driver: StateDriver;
  memory?: MemoryStoreOptions;
}

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
    default:
      throw new Error(`unknown state driver: ${String(options.driver satisfies never)}`);
  }
}
