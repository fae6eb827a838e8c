import { Module, type DynamicModule } from '@nestjs/common';
import type { NodeConfig } from '@herald/config';
import { CoreModule } from '@herald/core';
import { HealthModule } from '@herald/rest';
import { PortsModule } from '@herald/runtime';

/** Consumes push jobs and sends APNs/FCM pushes (push issue); for now it starts and reports ready. */
@Module({})
export class PushDispatcherModule {
  static forRoot(config: NodeConfig): DynamicModule {
    return { module: PushDispatcherModule, imports: [PortsModule.forRoot(config), CoreModule, HealthModule] };
  }
}
