import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import type { z } from 'zod';
import { MAX_TICKET_TTL_SECONDS, TicketService } from '@herald/auth';
import { NODE_CONFIG, type AppConfig, type NodeConfig } from '@herald/config';
import { ServerApiService } from '@herald/core';
import { ErrorCode, HeraldError } from '@herald/protocol';
import { AppAuthGuard } from './app-auth.guard.js';
import { CurrentApp } from './current-app.js';
import { parseBody, parseQuery } from './parse.js';
import {
  RestCommands,
  checkBatchSize,
  requireUser,
  type BatchResultBody,
  type BroadcastResultBody,
  type EmptyResultBody,
  type PublishResultBody,
  type UserPublishResultBody,
  type UsersPublishResultBody,
} from './rest-commands.js';
import * as s from './schemas.js';

type Out<T extends z.ZodType> = z.output<T>;

/**
 * REST API v1 (see routes.ts for the table the OpenAPI document is built from). Every route is
 * behind AppAuthGuard; handlers get the resolved app through @CurrentApp() and pass it on. Bodies
 * and queries arrive as `unknown` and are validated here with the schemas of schemas.ts; return
 * types are the response schemas' types, so what is documented is what is sent.
 */
@Controller('v1/apps/:app')
@UseGuards(AppAuthGuard)
export class RestApiController {
  constructor(
    private readonly commands: RestCommands,
    private readonly serverApi: ServerApiService,
    private readonly tickets: TicketService,
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
  ) {}

  // --- publishing --------------------------------------------------------------------------------

  @Post('publish')
  @HttpCode(200)
  publish(
    @CurrentApp() app: AppConfig,
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
  ): Promise<PublishResultBody> {
    return this.commands.publish(app, parseBody(s.publishBody, body), key);
  }

  @Post('broadcast')
  @HttpCode(200)
  broadcast(
    @CurrentApp() app: AppConfig,
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
  ): Promise<BroadcastResultBody> {
    checkBatchSize(body, 'channels');
    return this.commands.broadcast(app, parseBody(s.broadcastBody, body), key);
  }

  @Post('users/:user/publish')
  @HttpCode(200)
  publishToUser(
    @CurrentApp() app: AppConfig,
    @Param('user') user: string,
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
  ): Promise<UserPublishResultBody> {
    return this.commands.userPublish(app, user, parseBody(s.userPublishBody, body), key);
  }

  @Post('users/publish')
  @HttpCode(200)
  publishToUsers(
    @CurrentApp() app: AppConfig,
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
  ): Promise<UsersPublishResultBody> {
    checkBatchSize(body, 'users');
    return this.commands.usersPublish(app, parseBody(s.usersPublishBody, body), key);
  }

  @Post('batch')
  @HttpCode(200)
  batch(
    @CurrentApp() app: AppConfig,
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
  ): Promise<BatchResultBody> {
    // One key cannot stand for many commands: refusing it beats letting a caller believe the batch
    // is deduplicated when it is not.
    if (key !== undefined) {
      throw new HeraldError(
        ErrorCode.BAD_REQUEST,
        'Idempotency-Key is not accepted on /batch: set idempotency_key in the params of each command',
      );
    }
    return this.commands.batch(app, body);
  }

  // --- channels ----------------------------------------------------------------------------------

  @Get('channels')
  async channels(
    @CurrentApp() app: AppConfig,
    @Query() query: unknown,
  ): Promise<Out<typeof s.channelsResult>> {
    const { prefix } = parseQuery(s.channelsQuery, query);
    return { channels: await this.serverApi.channels(app, prefix ?? '') };
  }

  @Get('channels/:channel/presence')
  async presence(
    @CurrentApp() app: AppConfig,
    @Param('channel') channel: string,
    @Query() query: unknown,
  ): Promise<Out<typeof s.presenceResult>> {
    parseQuery(s.noQuery, query);
    return { members: await this.serverApi.presenceMembers(app, channel) };
  }

  @Get('channels/:channel/presence_stats')
  async presenceStats(
    @CurrentApp() app: AppConfig,
    @Param('channel') channel: string,
    @Query() query: unknown,
  ): Promise<Out<typeof s.presenceStatsResult>> {
    parseQuery(s.noQuery, query);
    return this.serverApi.presenceStats(app, channel);
  }

  @Get('channels/:channel/history')
  async history(
    @CurrentApp() app: AppConfig,
    @Param('channel') channel: string,
    @Query() query: unknown,
  ): Promise<Out<typeof s.historyResult>> {
    const q = parseQuery(s.historyQuery, query);
    return this.serverApi.history(app, channel, {
      limit: q.limit,
      since:
        q.since_offset !== undefined && q.since_epoch !== undefined
          ? { offset: q.since_offset, epoch: q.since_epoch }
          : undefined,
      reverse: q.reverse,
    });
  }

  // --- users -------------------------------------------------------------------------------------

  @Post('users/:user/disconnect')
  @HttpCode(200)
  disconnect(
    @CurrentApp() app: AppConfig,
    @Param('user') user: string,
    @Body() body: unknown,
  ): Promise<EmptyResultBody> {
    parseBody(s.emptyBody, body);
    return this.commands.disconnect(app, user);
  }

  @Post('users/:user/unsubscribe')
  @HttpCode(200)
  unsubscribe(
    @CurrentApp() app: AppConfig,
    @Param('user') user: string,
    @Body() body: unknown,
  ): Promise<EmptyResultBody> {
    const { channel } = parseBody(s.unsubscribeBody, body);
    return this.commands.unsubscribe(app, user, channel);
  }

  // --- tokens ------------------------------------------------------------------------------------

  @Post('users/:user/revoke_tokens')
  @HttpCode(200)
  async revokeUserTokens(
    @CurrentApp() app: AppConfig,
    @Param('user') user: string,
    @Body() body: unknown,
  ): Promise<EmptyResultBody> {
    const b = parseBody(s.revokeUserTokensBody, body);
    const issuedBefore = b.issued_before ?? Math.floor(Date.now() / 1000);
    const ttlSeconds = b.ttl_seconds ?? s.DEFAULT_USER_REVOCATION_TTL_SECONDS;
    await this.serverApi.revokeUserTokens(app, requireUser(user), issuedBefore, ttlSeconds);
    return {};
  }

  @Post('tokens/revoke')
  @HttpCode(200)
  async revokeToken(@CurrentApp() app: AppConfig, @Body() body: unknown): Promise<EmptyResultBody> {
    const b = parseBody(s.revokeTokenBody, body);
    await this.serverApi.revokeToken(app, b.jti, b.expires_at);
    return {};
  }

  @Post('tickets')
  @HttpCode(200)
  async mintTicket(@CurrentApp() app: AppConfig, @Body() body: unknown): Promise<Out<typeof s.ticketResult>> {
    const b = parseBody(s.ticketBody, body);
    const minted = await this.tickets.mint(app.id, {
      user: requireUser(b.user),
      ...(b.info !== undefined ? { info: b.info } : {}),
      ...(b.channels !== undefined ? { channels: b.channels } : {}),
      // The config does not bound the ttl; auth refuses more than its maximum, which is not the
      // caller's fault, so the node's setting is clamped here instead.
      ttlSeconds: Math.min(this.config.tickets.ttlSeconds, MAX_TICKET_TTL_SECONDS),
    });
    return { ticket: minted.ticket, expires_at: minted.expiresAt };
  }

  // --- node --------------------------------------------------------------------------------------

  @Get('info')
  info(@CurrentApp() app: AppConfig, @Query() query: unknown): Promise<Out<typeof s.infoResult>> {
    parseQuery(s.noQuery, query);
    return this.serverApi.info(app);
  }
}
