import { Module, type DynamicModule } from '@nestjs/common';
import { NODE_CONFIG, type NodeConfig } from '@herald/config';
import { CONTROL_STORE } from './control-store.js';
import { ConfigControlStore } from './memory/config.control-store.js';

export interface ControlModuleOptions {
  /** `config`: the apps of the node config (ConfigModule must be imported). SQL drivers come later. */
  driver: 'config';
}

@Module({})
export class ControlModule {
  static forRoot(options: ControlModuleOptions = { driver: 'config' }): DynamicModule {
    switch (options.driver) {
      case 'config':
        return {
          module: ControlModule,
          global: true,
          providers: [
            {
              provide: CONTROL_STORE,
              useFactory: (config: NodeConfig) => new ConfigControlStore(config.apps),
              inject: [NODE_CONFIG],
            },
          ],
          exports: [CONTROL_STORE],
        };
    }
  }
}
