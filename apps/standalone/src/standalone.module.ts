import { Module, type DynamicModule } from '@nestjs/common';
import { AdminModule } from '@herald/admin';
import type { NodeConfig } from '@herald/config';
import { CoreModule } from '@herald/core';
import { RealtimeModule } from '@herald/realtime';
import { HealthModule, RestModule } from '@herald/rest';
import { PortsModule } from '@herald/runtime';
import { DemoModule } from './demo/demo.module.js';
import { WebhookEventsModule, WebhooksModule } from '@herald/webhooks';

/** Everything in one process on embedded drivers: `npm start`. */
@Module({})
export class StandaloneModule {
  static forRoot(config: NodeConfig): DynamicModule {
    return {
      module: StandaloneModule,
      imports: [
        PortsModule.forRoot(config),
        WebhookEventsModule.forRoot(),
        WebhooksModule.forRoot(),
        CoreModule,
        RealtimeModule,
        RestModule,
        AdminModule.forRoot(),
        HealthModule,
        // The demo pages at `/`: development only (they mint tokens for anyone who asks).
        ...(DemoModule.enabled(config) ? [DemoModule.forRoot(config)] : []),
      ],
    };
  }
}
