import { Module, type DynamicModule } from '@nestjs/common';
import { AdminModule } from '@herald/admin';
import type { NodeConfig } from '@herald/config';
import { CoreModule } from '@herald/core';
import { RealtimeModule } from '@herald/realtime';
import { HealthModule, RestModule } from '@herald/rest';
import { PortsModule } from '@herald/runtime';

/** Everything in one process on embedded drivers: `npm start`. */
@Module({})
export class StandaloneModule {
  static forRoot(config: NodeConfig): DynamicModule {
    return {
      module: StandaloneModule,
      imports: [
        PortsModule.forRoot(config),
        CoreModule,
        RealtimeModule,
        RestModule,
        AdminModule.forRoot(),
        HealthModule,
      ],
    };
  }
}
