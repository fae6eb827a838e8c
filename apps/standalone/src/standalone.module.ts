import { Module, type DynamicModule } from '@nestjs/common';
import { AdminModule } from '@herald/admin';
import type { NodeConfig } from '@herald/config';
import { CoreModule } from '@herald/core';
import { RealtimeModule } from '@herald/realtime';
import { PushDispatchModule, PushStateModule } from '@herald/push';
import { HealthModule, PushRestModule, RestModule } from '@herald/rest';
import { PortsModule } from '@herald/runtime';
import { PusherModule } from '@herald/pusher';
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
        WebhookEventsModule.forRoot(config),
        WebhooksModule.forRoot(config),
        // Push acknowledgements and send records (memory here), then the dispatcher (docs/push.md).
        PushStateModule.forRoot(config),
        PushDispatchModule.forRoot(),
        CoreModule,
        RealtimeModule,
        RestModule,
        PushRestModule,
        // The Pusher protocol and HTTP API (docs/pusher.md).
        ...(config.pusher.enabled ? [PusherModule.forRoot({ websocket: true, http: true })] : []),
        AdminModule.forRoot(),
        HealthModule,
        // The demo pages at `/`: development only (they mint tokens for anyone who asks).
        ...(DemoModule.enabled(config) ? [DemoModule.forRoot(config)] : []),
      ],
    };
  }
}
