import { Module, type DynamicModule } from '@nestjs/common';
import { AuthModule } from '@herald/auth';
import { BusModule } from '@herald/bus';
import { ConfigModule, type NodeConfig } from '@herald/config';
import { ControlModule } from '@herald/control';
import { HistoryModule } from '@herald/history';
import { ObservabilityModule } from '@herald/observability';
import { PresenceModule } from '@herald/presence';
import { StateModule } from '@herald/state';

/**
 * The one place where drivers are chosen from validated config (STYLE.md habit 1). Every app
 * imports this; the embedded memory drivers are the zero-config default. The cluster issue adds
 * the Kafka/Redis/PostgreSQL cases here and nowhere else.
 */
@Module({})
export class PortsModule {
  static forRoot(config: NodeConfig): DynamicModule {
    return {
      module: PortsModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot(config.log.level),
        BusModule.forRoot({ driver: 'memory' }),
        PresenceModule.forRoot({ driver: 'memory' }),
        HistoryModule.forRoot({ driver: 'memory' }),
        StateModule.forRoot({ driver: 'memory' }),
        ControlModule.forRoot({ driver: 'config' }),
        AuthModule,
      ],
    };
  }
}
