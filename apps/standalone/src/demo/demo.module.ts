import { Module, type DynamicModule } from '@nestjs/common';
import type { AppConfig, NodeConfig } from '@herald/config';
import { DEMO_APP, DemoController } from './demo.controller.js';

/**
 * The demo pages at `/` (chat with presence and typing; a live rate dashboard), built on the SDK
 * bundle (dist/sdk/herald.js). Served only when the node runs with `env: development`, against the
 * generated `dev` app, or the first configured app when apps are configured. In production the
 * module is not loaded at all: it mints tokens for anyone who asks, which only a development
 * node may do.
 */
@Module({})
export class DemoModule {
  static forRoot(config: NodeConfig): DynamicModule {
    const app: AppConfig | undefined = config.apps.find((a) => a.id === 'dev') ?? config.apps[0];
    return {
      module: DemoModule,
      controllers: app ? [DemoController] : [],
      providers: [{ provide: DEMO_APP, useValue: app }],
    };
  }

  /** Whether a node with this config serves the demo. */
  static enabled(config: NodeConfig): boolean {
    return config.env === 'development' && config.apps.length > 0;
  }
}
