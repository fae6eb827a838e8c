import { Module, type DynamicModule } from '@nestjs/common';
import type { NodeConfig } from '@herald/config';
import { CoreModule } from '@herald/core';
import { RealtimeModule } from '@herald/realtime';
import { HealthModule } from '@herald/rest';
import { PortsModule } from '@herald/runtime';

/** Client connections: WebSocket (and the HTTP transports), scaled by connections. */
@Module({})
export class GatewayModule {
  static forRoot(config: NodeConfig): DynamicModule {
    return {
      module: GatewayModule,
      imports: [PortsModule.forRoot(config), CoreModule, RealtimeModule, HealthModule],
    };
  }
}
