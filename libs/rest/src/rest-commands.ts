import { Injectable, Logger } from '@nestjs/common';
import type { z } from 'zod';
import type { AppConfig } from '@herald/config';
import { PublishService, ServerApiService, UserPublishService } from '@herald/core';
import type { PushContent } from '@herald/push';
import { ErrorCode, HeraldError, errorByCode, isValidUserId, personalChannel } from '@herald/protocol';
import { errorItem } from './error-response.js';
import { parseBody, zodIssues } from './parse.js';
import {
  MAX_BATCH_ITEMS,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  batchCommand,
  batchEnvelope,
  type BatchCommand,
  type batchResult,
  type broadcastBody,
  type broadcastResult,
  type emptyResult,
  type publishBody,
  type publishResult,
  type userPublishBody,
  type pushSection,
  type usersPublishBody,
  type userPublishResult,
  type usersPublishResult,
} from './schemas.js';

export type PublishBody = z.output<typeof publishBody>;
export type BroadcastBody = z.output<typeof broadcastBody>;
export type UserPublishBody = z.output<typeof userPublishBody>;
export type PublishResultBody = z.output<typeof publishResult>;
export type BroadcastResultBody = z.output<typeof broadcastResult>;
export type BatchResultBody = z.output<typeof batchResult>;
export type EmptyResultBody = z.output<typeof emptyResult>;
export type UsersPublishBody = z.output<typeof usersPublishBody>;
export type UserPublishResultBody = z.output<typeof userPublishResult>;
export type UsersPublishResultBody = z.output<typeof usersPublishResult>;

/** The `push` section without the dispatch fields (policy, delay), as the dispatcher builds it. */
function pushContent(p: z.output<typeof pushSection>): PushContent {
  const { policy: _policy, delay_ms: _delay, ...content } = p;
  return content;
}

/**
 * Refuses lists longer than MAX_BATCH_ITEMS with LIMIT_BATCH (the catalogue's answer for "too many
 * items"), before schema validation would report them as a generic bad request.
 */
export function checkBatchSize(body: unknown, field: string): void {
  if (typeof body !== 'object' || body === null) return;
  const list = (body as Record<string, unknown>)[field];
  if (Array.isArray(list) && list.length > MAX_BATCH_ITEMS) {
    throw new HeraldError(ErrorCode.LIMIT_BATCH, `${field}: at most ${MAX_BATCH_ITEMS} items per request`, {
      limit: MAX_BATCH_ITEMS,
    });
  }
}

/**
 * The idempotency key of a request: the `Idempotency-Key` header or the body's `idempotency_key`.
 * Both may be sent; if they differ the request is ambiguous and refused rather than guessed.
 */
export function idempotencyKey(header: string | undefined, fromBody: string | undefined): string | undefined {
  if (header !== undefined && (header.length === 0 || header.length > MAX_IDEMPOTENCY_KEY_LENGTH)) {
    throw new HeraldError(
      ErrorCode.BAD_REQUEST,
      `Idempotency-Key must be 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
    );
  }
  if (header !== undefined && fromBody !== undefined && header !== fromBody) {
    throw new HeraldError(ErrorCode.BAD_REQUEST, 'Idempotency-Key header and idempotency_key differ');
  }
  return header ?? fromBody;
}

export function requireUser(user: string): string {
  if (!isValidUserId(user)) {
    throw new HeraldError(
      ErrorCode.BAD_REQUEST,
      'invalid user id: 1-128 characters of A-Z a-z 0-9 _-=@.;!~|',
    );
  }
  return user;
}

function publishOptions(key: string | undefined): { idempotencyKey?: string; rateLimited: true } {
  return key === undefined ? { rateLimited: true } : { idempotencyKey: key, rateLimited: true };
}

/** Only the documented fields: an idempotent replay returns whatever was stored the first time. */
function publishAnswer(r: { offset?: number; epoch?: string }): PublishResultBody {
  const out: PublishResultBody = {};
  if (r.offset !== undefined) out.offset = r.offset;
  if (r.epoch !== undefined) out.epoch = r.epoch;
  return out;
}

/**
 * The commands of REST API v1, shared by the single-command routes and /batch so both validate and
 * answer alike. The app is always the one resolved by the guard, passed in by the caller.
 */
@Injectable()
export class RestCommands {
  private readonly log = new Logger('RestCommands');

  constructor(
    private readonly publisher: PublishService,
    private readonly serverApi: ServerApiService,
    private readonly userPublisher: UserPublishService,
  ) {}

  async publish(app: AppConfig, body: PublishBody, headerKey?: string): Promise<PublishResultBody> {
    const key = idempotencyKey(headerKey, body.idempotency_key);
    const result = await this.publisher.publish(
      app,
      { channel: body.channel, data: body.data },
      publishOptions(key),
    );
    return publishAnswer(result);
  }

  async broadcast(app: AppConfig, body: BroadcastBody, headerKey?: string): Promise<BroadcastResultBody> {
    const key = idempotencyKey(headerKey, body.idempotency_key);
    const result = await this.publisher.broadcast(app, body.channels, body.data, publishOptions(key));
    return {
      responses: result.responses.map((r) => {
        if ('error' in r) {
          const def = errorByCode(r.error.code) ?? ErrorCode.INTERNAL;
          return { channel: r.channel, error: errorItem(def, r.error.message) };
        }
        return { channel: r.channel, ...publishAnswer(r) };
      }),
    };
  }

  async userPublish(
    app: AppConfig,
    user: string,
    body: UserPublishBody,
    headerKey?: string,
  ): Promise<UserPublishResultBody> {
    if (body.push === undefined) {
      const channel = personalChannel(requireUser(user));
      return this.publish(
        app,
        { channel, data: body.data, idempotency_key: body.idempotency_key },
        headerKey,
      );
    }
    const [r] = await this.usersPublish(
      app,
      { users: [user], data: body.data, push: body.push, idempotency_key: body.idempotency_key },
      headerKey,
    ).then((x) => x.responses);
    if ('error' in r) {
      const def = errorByCode(r.error.code) ?? ErrorCode.INTERNAL;
      throw new HeraldError(def, r.error.message);
    }
    const { user: _user, ...rest } = r;
    return rest;
  }

  /** Publishes to many users' personal channels, each with an optional push (docs/push.md). */
  async usersPublish(
    app: AppConfig,
    body: UsersPublishBody,
    headerKey?: string,
  ): Promise<UsersPublishResultBody> {
    const key = idempotencyKey(headerKey, body.idempotency_key);
    const users = body.users.map(requireUser);
    const push = body.push;
    const responses = await this.userPublisher.publish(
      app,
      users,
      body.data,
      push === undefined
        ? undefined
        : {
            content: pushContent(push),
            policy: push.policy,
            ...(push.delay_ms !== undefined ? { delayMs: push.delay_ms } : {}),
          },
      { rateLimited: true, ...(key !== undefined ? { idempotencyKey: key } : {}) },
    );
    return {
      responses: responses.map((r) => {
        if ('error' in r) {
          const def = errorByCode(r.error.code) ?? ErrorCode.INTERNAL;
          return { user: r.user, error: errorItem(def, r.error.message) };
        }
        return {
          user: r.user,
          ...publishAnswer(r),
          ...(r.message_id !== undefined ? { message_id: r.message_id } : {}),
        };
      }),
    };
  }

  async disconnect(app: AppConfig, user: string): Promise<EmptyResultBody> {
    await this.serverApi.disconnectUser(app, requireUser(user));
    return {};
  }

  async unsubscribe(app: AppConfig, user: string, channel: string): Promise<EmptyResultBody> {
    await this.serverApi.unsubscribeUser(app, requireUser(user), channel);
    return {};
  }

  /**
   * Runs the commands in order. Each one is validated and executed on its own: an invalid or failed
   * command gets an `error` reply and the next one still runs (a batch is not a transaction, so a
   * retry should resend only the failed commands, or use idempotency keys).
   */
  async batch(app: AppConfig, body: unknown): Promise<BatchResultBody> {
    checkBatchSize(body, 'commands');
    const { commands } = parseBody(batchEnvelope, body);
    const replies: BatchResultBody['replies'] = [];
    for (const [i, raw] of commands.entries()) {
      try {
        replies.push({ result: await this.runRaw(app, raw, i) });
      } catch (err) {
        if (err instanceof HeraldError) {
          replies.push({ error: errorItem(err.def, err.message, err.details) });
        } else {
          this.log.error({ msg: 'batch command failed', app: app.id, index: i, err: String(err) });
          replies.push({ error: errorItem(ErrorCode.INTERNAL, ErrorCode.INTERNAL.message) });
        }
      }
    }
    return { replies };
  }

  private async runRaw(app: AppConfig, raw: unknown, index: number): Promise<Record<string, unknown>> {
    if (typeof raw === 'object' && raw !== null && (raw as { method?: unknown }).method === 'broadcast') {
      checkBatchSize((raw as { params?: unknown }).params, 'channels');
    }
    const parsed = batchCommand.safeParse(raw);
    if (!parsed.success) {
      const issues = zodIssues(parsed.error);
      const first = issues[0];
      throw new HeraldError(
        ErrorCode.BAD_REQUEST,
        `invalid command ${index}${first ? `: ${first.path || 'command'}: ${first.message}` : ''}`,
        { issues },
      );
    }
    return this.run(app, parsed.data);
  }

  private async run(app: AppConfig, cmd: BatchCommand): Promise<Record<string, unknown>> {
    switch (cmd.method) {
      case 'publish':
        return this.publish(app, cmd.params);
      case 'broadcast':
        return this.broadcast(app, cmd.params);
      case 'disconnect':
        return this.disconnect(app, cmd.params.user);
      case 'unsubscribe':
        return this.unsubscribe(app, cmd.params.user, cmd.params.channel);
    }
  }
}
