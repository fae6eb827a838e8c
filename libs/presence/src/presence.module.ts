import { Module, type DynamicModule } from '@nestjs/common';
import { PRESENCE_REGISTRY, type PresenceRegistry } from './presence-registry.js';
import {
  MemoryPresenceRegistry,
  type MemoryPresenceRegistryOptions,
} from './memory/memory.presence-registry.js';

/** Drivers of the PresenceRegistry port; the composition root picks one from validated config. */
export type PresenceDriver = 'memory';

export interface PresenceModuleOptions {
  driver: PresenceDriver;
  memory?: MemoryPresenceRegistryOptions;
}

/** Provides PRESENCE_REGISTRY to the whole application (global), built by the configured driver. */
@Module({})
export class PresenceModule {
  static forRoot(options: PresenceModuleOptions): DynamicModule {
    return {
      module: PresenceModule,
      global: true,
      providers: [{ provide: PRESENCE_REGISTRY, useFactory: () => createPresenceRegistry(options) }],
      exports: [PRESENCE_REGISTRY],
    };
  }
}

/** The one place that maps a driver name to an implementation. */
function createPresenceRegistry(options: PresenceModuleOptions): PresenceRegistry {
  switch (options.driver) {
    case 'memory':
      return new MemoryPresenceRegistry(options.memory);
    default:
      throw new Error(`unknown presence driver: ${String(options.driver satisfies never)}`);
  }
}
