import { Module, type DynamicModule } from '@nestjs/common';
import { HISTORY_STORE, type HistoryStore } from './history-store.js';
import { MemoryHistoryStore, type MemoryHistoryStoreOptions } from './memory/memory.history-store.js';

/** Drivers of the HistoryStore port; the composition root picks one from validated config. */
export type HistoryDriver = 'memory';

export interface HistoryModuleOptions {
  driver: HistoryDriver;
  memory?: MemoryHistoryStoreOptions;
}

/** Provides HISTORY_STORE to the whole application (global), built by the configured driver. */
@Module({})
export class HistoryModule {
  static forRoot(options: HistoryModuleOptions): DynamicModule {
    return {
      module: HistoryModule,
      global: true,
      providers: [{ provide: HISTORY_STORE, useFactory: () => createHistoryStore(options) }],
      exports: [HISTORY_STORE],
    };
  }
}

/** The one place that maps a driver name to an implementation. */
function createHistoryStore(options: HistoryModuleOptions): HistoryStore {
  switch (options.driver) {
    case 'memory':
      return new MemoryHistoryStore(options.memory);
    default:
      throw new Error(`unknown history driver: ${String(options.driver satisfies never)}`);
  }
}
