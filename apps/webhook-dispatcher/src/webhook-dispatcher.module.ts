import { Module, type DynamicModule } from '@nestjs/common';
import type { NodeConfig } from '@herald/config';
import { HealthModule } from '@herald/rest';
import { PortsModule } from '@herald/runtime';
import { WebhooksModule } from '@herald/webhooks';

/** Consumes lifecycle events (`herald.events`, group `herald.webhooks`) and delivers signed webhooks. */
@Module({})
export class WebhookDispatcherModule {
  static forRoot(config: NodeConfig): DynamicModule {
    return {
      module: WebhookDispatcherModule,
      imports: [PortsModule.forRoot(config), WebhooksModule.forRoot(config), HealthModule],
    };
  }
}
