/**
 * Admin routes of the push dead-letter store (docs/push.md "Dead letters"): list the push jobs the
 * dispatcher gave up on, and replay them (they are put back on `herald.push` and sent whatever the
 * policy, to the devices that had failed). A separate controller and OpenAPI extension from the
 * rest of the admin API, registered by AdminModule.
 */
import {
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Optional,
  Param,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { z } from 'zod';
import { BUS, Topics, type Bus } from '@herald/bus';
import { PUSH_DEAD_LETTER_STORE, type PushDeadLetter, type PushDeadLetterStore } from '@herald/control';
import { ErrorCode, HeraldError } from '@herald/protocol';
import { decodePushJob, encodePushJob, pushJobKey } from '@herald/push';
import { parseBody, parseQuery, restSchemas, type OpenApiExtension, type RouteSpec } from '@herald/rest';
import { AdminAuthGuard } from './admin-auth.guard.js';
import { ADMIN_SECURITY } from './admin.routes.js';

const MAX_LIST = 1000;

function named<T extends z.ZodType>(id: string, schema: T, description: string): T {
  const described = schema.describe(description);
  restSchemas.add(described, { id });
  return described;
}

export const pushDeadLetterQuery = named(
  'PushDeadLetterQuery',
  z.strictObject({
    limit: z
      .string()
      .regex(/^\d{1,4}$/, 'limit is 1..1000')
      .optional()
      .describe('Most entries (1-1000, default 100).'),
  }),
  'Paging of the push dead-letter list.',
);

export const pushDeadLetter = named(
  'PushDeadLetter',
  z.strictObject({
    id: z.string(),
    user: z.string(),
    message_id: z.string(),
    reason: z
      .string()
      .describe('`retries_exhausted`, or the permanent failure (`auth`, `no_credentials`, ...).'),
    attempts: z.number().int(),
    last_error: z.string().optional(),
    devices: z.array(z.string()).describe('`platform:token` of the devices the push had failed for.'),
    dead_at: z.string().describe('ISO 8601.'),
  }),
  'A push job the dispatcher gave up on.',
);

export const pushDeadLetterListResult = named(
  'PushDeadLetterListResult',
  z.strictObject({ dead_letters: z.array(pushDeadLetter) }),
  'Oldest first.',
);

export const pushReplayBody = named(
  'PushReplayRequest',
  z.strictObject({
    ids: z
      .array(z.string().min(1).max(100))
      .max(MAX_LIST)
      .optional()
      .describe('Entries to replay; default: all (up to 1000).'),
  }),
  'Which dead letters to replay.',
);

export const pushReplayResult = named(
  'PushReplayResult',
  z.strictObject({ replayed: z.number().int() }),
  'How many jobs were put back on the push queue.',
);

const APP = '/v1/admin/apps/{app}';

export const PUSH_ADMIN_ROUTES: readonly RouteSpec[] = [
  {
    method: 'get',
    path: `${APP}/push/dead-letters`,
    operationId: 'adminListPushDeadLetters',
    summary: 'List push jobs that were dead-lettered',
    tag: 'admin: push',
    auth: true,
    security: ADMIN_SECURITY,
    query: pushDeadLetterQuery,
    response: pushDeadLetterListResult,
    errors: [ErrorCode.NOT_AVAILABLE],
  },
  {
    method: 'post',
    path: `${APP}/push/dead-letters/replay`,
    operationId: 'adminReplayPushDeadLetters',
    summary: 'Replay dead-lettered push jobs',
    description:
      'Removes the entries and puts their jobs back on `herald.push`: they are sent to the devices that had ' +
      'failed, whatever the original policy. Devices already pushed for that message are not pushed again.',
    tag: 'admin: push',
    auth: true,
    security: ADMIN_SECURITY,
    body: pushReplayBody,
    response: pushReplayResult,
    errors: [ErrorCode.NOT_AVAILABLE],
  },
];

export const PUSH_ADMIN_OPENAPI: OpenApiExtension = {
  routes: PUSH_ADMIN_ROUTES,
  tags: [{ name: 'admin: push', description: 'Operators: the push dead-letter store (admin token).' }],
};

function entryBody(e: PushDeadLetter): z.output<typeof pushDeadLetter> {
  const job = e.job as { devices?: unknown };
  return {
    id: e.id,
    user: e.userId,
    message_id: e.messageId,
    reason: e.reason,
    attempts: e.attempts,
    ...(e.lastError !== undefined ? { last_error: e.lastError } : {}),
    devices: Array.isArray(job.devices) ? job.devices.filter((x): x is string => typeof x === 'string') : [],
    dead_at: e.deadAt.toISOString(),
  };
}

@Controller('v1/admin/apps/:app/push/dead-letters')
@UseGuards(AdminAuthGuard)
export class PushDeadLettersController {
  constructor(
    @Inject(BUS) private readonly bus: Bus,
    @Optional() @Inject(PUSH_DEAD_LETTER_STORE) private readonly store?: PushDeadLetterStore,
  ) {}

  private deadLetters(): PushDeadLetterStore {
    if (!this.store)
      throw new HeraldError(ErrorCode.NOT_AVAILABLE, 'push dead letters need the SQL control store');
    return this.store;
  }

  @Get()
  async list(
    @Param('app') appId: string,
    @Query() query: unknown,
  ): Promise<z.output<typeof pushDeadLetterListResult>> {
    const q = parseQuery(pushDeadLetterQuery, query);
    const limit = Math.min(MAX_LIST, Math.max(1, Number(q.limit ?? 100)));
    return { dead_letters: (await this.deadLetters().listDeadLetters(appId, limit)).map(entryBody) };
  }

  @Post('replay')
  @HttpCode(200)
  async replay(
    @Param('app') appId: string,
    @Body() body: unknown,
  ): Promise<z.output<typeof pushReplayResult>> {
    const input = parseBody(pushReplayBody, body ?? {});
    const taken = await this.deadLetters().takeDeadLetters(appId, input.ids, MAX_LIST);
    let replayed = 0;
    for (const e of taken) {
      const job = decodePushJob(Buffer.from(JSON.stringify(e.job)));
      // Only a job of this app goes back, under its own key (the entry was read scoped to the app).
      if (!job || job.app !== appId) continue;
      const { notBefore: _notBefore, ...rest } = job;
      await this.bus.publish(
        Topics.PUSH,
        pushJobKey(appId, job.user),
        encodePushJob({ ...rest, attempt: 0, replay: true }),
      );
      replayed++;
    }
    return { replayed };
  }
}
