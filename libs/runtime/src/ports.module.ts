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
 * imports this; the embedded drivers (memory, PGlite) are the zero-config default, and Kafka, Redis
 * and PostgreSQL are chosen by `drivers.*` and `control.driver`.
 */
@Module({})
export class PortsModule {
  static forRoot(config: NodeConfig): DynamicModule {
    // One Redis connection per process is shared by every Redis-backed port; it is only opened
    // when a driver is 'redis'.
    const redis = {
      url: config.redis.url,
      keyPrefix: config.redis.keyPrefix,
      connectTimeoutMs: config.redis.connectTimeoutMilliseconds,
      commandTimeoutMs: config.redis.commandTimeoutMilliseconds,
    };
    return {
      module: PortsModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot(config.log.level),
        BusModule.forRoot({ driver: config.drivers.bus, kafka: config.kafka }),
        PresenceModule.forRoot({
          driver: config.drivers.presence,
          redis,
          occupancy: { node: config.nodeId, leaseMs: config.presence.occupancyLeaseMilliseconds },
        }),
        HistoryModule.forRoot({ driver: config.drivers.history, redis }),
        StateModule.forRoot({ driver: config.drivers.state, redis }),
        ControlModule.forRoot({ driver: config.control.driver }),
        AuthModule,
      ],
    };
  }
}
