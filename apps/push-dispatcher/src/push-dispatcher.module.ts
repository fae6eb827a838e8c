import { Module, type DynamicModule } from '@nestjs/common';
import type { NodeConfig } from '@herald/config';
import { PushDispatchModule, PushStateModule } from '@herald/push';
import { HealthModule } from '@herald/rest';
import { PortsModule } from '@herald/runtime';

/**
 * Consumes push jobs (`herald.push`, group `herald.push`), asks the presence registry whether the
 * user is online and sends through APNs (apns2) or FCM (firebase-admin) (docs/push.md).
 */
@Module({})
export class PushDispatcherModule {
  static forRoot(config: NodeConfig): DynamicModule {
    return {
      module: PushDispatcherModule,
      imports: [
        PortsModule.forRoot(config),
        PushStateModule.forRoot(config),
        PushDispatchModule.forRoot(),
        HealthModule,
      ],
    };
  }
}
