import { Module, type DynamicModule } from '@nestjs/common';
import type { NodeConfig } from '@herald/config';
import { CoreModule } from '@herald/core';
import { RealtimeModule } from '@herald/realtime';
import { HealthModule } from '@herald/rest';
import { PushStateModule } from '@herald/push';
import { PortsModule } from '@herald/runtime';
import { PusherModule } from '@herald/pusher';
import { WebhookEventsModule } from '@herald/webhooks';

/** Client connections: WebSocket (and the HTTP transports), scaled by connections. */
@Module({})
export class GatewayModule {
  static forRoot(config: NodeConfig): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        PortsModule.forRoot(config),
        // Lifecycle events (occupied/vacated, members, client events) to `herald.events`.
        WebhookEventsModule.forRoot(config),
        // Where `ack` commands are recorded for the push dispatcher's `unacked` policy.
        PushStateModule.forRoot(config),
        CoreModule,
        RealtimeModule,
        // The Pusher protocol at /app/{key} (docs/pusher.md).
        ...(config.pusher.enabled ? [PusherModule.forRoot({ websocket: true, http: false })] : []),
        HealthModule,
      ],
    };
  }
}
