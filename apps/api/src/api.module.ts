import { Module, type DynamicModule } from '@nestjs/common';
import { AdminModule } from '@herald/admin';
import type { NodeConfig } from '@herald/config';
import { CoreModule } from '@herald/core';
import { HealthModule, PushRestModule, RestModule } from '@herald/rest';
import { PortsModule } from '@herald/runtime';
import { PusherModule } from '@herald/pusher';
import { WebhookStoreModule } from '@herald/webhooks';

/** Tenant REST API: stateless replicas. */
@Module({})
export class ApiModule {
  static forRoot(config: NodeConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        PortsModule.forRoot(config),
        // The webhook dead letters (SQL store) for the admin API's list and replay.
        WebhookStoreModule.forRoot(config),
        CoreModule,
        RestModule,
        // Device registration (publishes with `push` enqueue jobs on herald.push; docs/push.md).
        PushRestModule,
        // The Pusher HTTP API at /apps/{app_id}/ (docs/pusher.md).
        ...(config.pusher.enabled ? [PusherModule.forRoot({ websocket: false, http: true })] : []),
        AdminModule.forRoot(),
        HealthModule,
      ],
    };
  }
}
