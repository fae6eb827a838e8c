import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { CoreModule } from '@herald/core';
import { AppAuthGuard } from './app-auth.guard.js';
import { DocsController } from './docs.controller.js';
import { HttpExceptionFilter } from './http-exception.filter.js';
import { RestApiController } from './rest-api.controller.js';
import { RestCommands } from './rest-commands.js';

/**
 * REST API v1, its OpenAPI document and Swagger UI. Needs what the composition root provides
 * globally: NODE_CONFIG, CONTROL_STORE, the ports CoreModule depends on, and TicketService
 * (AuthModule). Registers the one HTTP exception filter of the process (APP_FILTER), so every HTTP
 * route, including unknown ones, answers errors with the same shape.
 */
@Module({
  imports: [CoreModule],
  controllers: [RestApiController, DocsController],
  providers: [RestCommands, AppAuthGuard, { provide: APP_FILTER, useClass: HttpExceptionFilter }],
})
export class RestModule {}
