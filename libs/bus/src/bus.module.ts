import { Module, type DynamicModule } from '@nestjs/common';
import { BUS, type Bus } from './bus.js';
import { KafkaBus, type KafkaBusOptions } from './kafka/kafka.bus.js';
import { MemoryBus, type MemoryBusOptions } from './memory/memory.bus.js';

/** Drivers of the Bus port; the composition root picks one from validated config. */
export type BusDriver = 'memory' | 'kafka';

export interface BusModuleOptions {
  driver: BusDriver;
  memory?: MemoryBusOptions;
  /** Required by the `kafka` driver. */
  kafka?: KafkaBusOptions;
}

/** Provides BUS to the whole application (global), built by the configured driver. */
@Module({})
export class BusModule {
  static forRoot(options: BusModuleOptions): DynamicModule {
    return {
      module: BusModule,
      global: true,
      providers: [{ provide: BUS, useFactory: () => createBus(options) }],
      exports: [BUS],
    };
  }
}

/** The one place that maps a driver name to an implementation. */
function createBus(options: BusModuleOptions): Bus {
  switch (options.driver) {
    case 'memory':
      return new MemoryBus(options.memory);
    case 'kafka':
      if (!options.kafka) throw new Error('bus driver kafka needs kafka options (brokers)');
      return new KafkaBus(options.kafka);
    default:
      throw new Error(`unknown bus driver: ${String(options.driver satisfies never)}`);
  }
}
