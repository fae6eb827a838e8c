import { Module, type DynamicModule } from '@nestjs/common';
import { AdminModule } from '@herald/admin';
import type { NodeConfig } from '@herald/config';
import { CoreModule } from '@herald/core';
import { HealthModule, RestModule } from '@herald/rest';
import { PortsModule } from '@herald/runtime';

/** Tenant REST API: stateless replicas. */
@Module({})
export class ApiModule {
  static forRoot(config: NodeConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [PortsModule.forRoot(config), CoreModule, RestModule, AdminModule.forRoot(), HealthModule],
    };
  }
}
