import { Module, type DynamicModule } from '@nestjs/common';
import type { NodeConfig } from '@herald/config';
import { CoreModule } from '@herald/core';
import { HealthModule } from '@herald/rest';
import { PortsModule } from '@herald/runtime';

/** Consumes lifecycle events and delivers signed webhooks (webhooks issue); for now it starts and reports ready. */
@Module({})
export class WebhookDispatcherModule {
  static forRoot(config: NodeConfig): DynamicModule {
    return {
      module: WebhookDispatcherModule,
      imports: [PortsModule.forRoot(config), CoreModule, HealthModule],
    };
  }
}
