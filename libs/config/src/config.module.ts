import { Module, type DynamicModule } from '@nestjs/common';
import type { NodeConfig } from './types.js';

/** Injection token of the validated NodeConfig. */
export const NODE_CONFIG = Symbol('NodeConfig');

/**
 * Provides the node's validated config to every module. The entry point loads it (loadNodeConfig)
 * before Nest starts, so a bad config fails fast with every problem listed, not inside DI.
 */
@Module({})
export class ConfigModule {
  static forRoot(config: NodeConfig): DynamicModule {
    return {
      module: ConfigModule,
      global: true,
      providers: [{ provide: NODE_CONFIG, useValue: config }],
      exports: [NODE_CONFIG],
    };
  }
}
