import { Inject, Logger, Module, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { NODE_CONFIG, type NodeConfig } from '@herald/config';
import { registerOpenApiExtension } from '@herald/rest';
import { AdminAuthGuard, ADMIN_TOKEN } from './admin-auth.guard.js';
import { AdminController } from './admin.controller.js';
import { ADMIN_OPENAPI } from './admin.routes.js';
import { AdminService } from './admin.service.js';
import { resolveAdminToken, type AdminToken } from './admin-token.js';
import { PUSH_ADMIN_OPENAPI, PushDeadLettersController } from './push-dead-letters.js';

/**
 * The admin API (`/v1/admin`), documented in `/v1/openapi.json`. Needs what the composition root
 * provides globally: NODE_CONFIG, BUS, CONTROL_STORE and, for writes, the SQL control store's
 * CONTROL_ADMIN (on the `config` driver every route answers `not_available`). Imported by the api
 * and standalone apps after RestModule (which registers the error filter).
 */
@Module({})
export class AdminModule implements OnModuleInit {
  private readonly log = new Logger('AdminModule');

  constructor(@Inject(ADMIN_TOKEN) private readonly token: AdminToken) {}

  static forRoot(): DynamicModule {
    return {
      module: AdminModule,
      controllers: [AdminController, PushDeadLettersController],
      providers: [
        AdminService,
        AdminAuthGuard,
        {
          provide: ADMIN_TOKEN,
          useFactory: (config: NodeConfig) => resolveAdminToken(config),
          inject: [NODE_CONFIG],
        },
      ],
    };
  }

  onModuleInit(): void {
    registerOpenApiExtension(ADMIN_OPENAPI);
    registerOpenApiExtension(PUSH_ADMIN_OPENAPI);
    if (this.token.generated) {
      this.log.warn(
        `generated a development admin token in ${this.token.file}; set HERALD_ADMIN_TOKEN in production`,
      );
    } else if (this.token.file) {
      this.log.warn(`using the development admin token in ${this.token.file}`);
    }
  }
}
