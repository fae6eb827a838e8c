import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, Inject, Logger, Post, Req, Res } from '@nestjs/common';
import type { AppConfig, NodeConfig, SecretScope } from '@herald/config';
import { NODE_CONFIG } from '@herald/config';
import { CONTROL_STORE, type ControlStore } from '@herald/control';
import { PublishService, ServerApiService, resolveChannel } from '@herald/core';
import { PRESENCE_REGISTRY, type PresenceRegistry } from '@herald/presence';
import { ErrorCode, HeraldError, isValidUserId } from '@herald/protocol';
import { RAW_BODY } from '@herald/rest';
import { parsePusherChannel, pusherNameOf, toHeraldData, type PusherChannel } from './channels.js';
import { SOCKET_ID_RE, verifyRequest } from './signatures.js';

/** An answer of the Pusher HTTP API: Pusher's status and a plain-text body saying what is wrong. */
export class PusherHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type PusherRequest = IncomingMessage & {
  params?: Record<string, string | undefined>;
  body?: unknown;
  originalUrl?: string;
  [RAW_BODY]?: Buffer;
};

const APP_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_EVENT_NAME = 200;

interface EventInput {
  name: string;
  data: unknown;
  channels: PusherChannel[];
  socketId?: string;
  info: Set<string>;
}

function statusOf(err: HeraldError): number {
  if (err.def === ErrorCode.UNKNOWN_CHANNEL) return 400;
  return err.def.status;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/**
 * The Pusher HTTP API (`/apps/{app_id}/...`), for Pusher's server libraries: events, batch events,
 * channel queries, presence users and terminate_connections. Requests are authenticated with
 * Pusher's query signature (verifyRequest); answers and errors use Pusher's statuses with plain
 * text bodies (docs/pusher.md "HTTP API"). It publishes through the same PublishService as REST v1.
 */
@Controller('apps/:app')
export class PusherHttpController {
  private readonly log = new Logger('PusherHttpController');

  constructor(
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    @Inject(PRESENCE_REGISTRY) private readonly presence: PresenceRegistry,
    private readonly publisher: PublishService,
    private readonly serverApi: ServerApiService,
  ) {}

  @Post('events')
  async events(@Req() req: PusherRequest, @Res() res: ServerResponse): Promise<void> {
    await this.answer(req, res, 'publish', async (app) => {
      const input = this.eventInput(obj(req.body) ?? {}, true);
      await this.publishEvent(app, input);
      return input.info.size > 0 ? { channels: await this.channelInfo(app, input.channels, input.info) } : {};
    });
  }

  @Post('batch_events')
  async batchEvents(@Req() req: PusherRequest, @Res() res: ServerResponse): Promise<void> {
    await this.answer(req, res, 'publish', async (app) => {
      const batch = obj(req.body)?.batch;
      if (!Array.isArray(batch)) throw new PusherHttpError(400, 'batch must be an array of events');
      if (batch.length > this.config.pusher.maxBatchEvents)
        throw new PusherHttpError(
          400,
          `Batch too large: at most ${this.config.pusher.maxBatchEvents} events`,
        );
      const inputs = batch.map((e) => this.eventInput(obj(e) ?? {}, false));
      for (const input of inputs) await this.publishEvent(app, input);
      if (!inputs.some((i) => i.info.size > 0)) return { batch: inputs.map(() => ({})) };
      const out: Record<string, unknown>[] = [];
      for (const input of inputs) {
        const info = await this.channelInfo(app, input.channels, input.info);
        out.push(info[input.channels[0].pusher] ?? {});
      }
      return { batch: out };
    });
  }

  @Get('channels')
  async channels(@Req() req: PusherRequest, @Res() res: ServerResponse): Promise<void> {
    await this.answer(req, res, 'stats', async (app, params) => {
      const prefix = params.get('filter_by_prefix') ?? '';
      const info = this.infoSet(params.get('info'), ['user_count']);
      if (info.has('user_count') && !prefix.startsWith('presence-'))
        throw new PusherHttpError(400, 'info=user_count needs filter_by_prefix=presence-');
      const channels: Record<string, Record<string, number>> = {};
      for (const { channel } of await this.serverApi.channels(app, prefix)) {
        const name = pusherNameOf(channel);
        if (name === undefined || name !== channel) continue;
        channels[name] = info.has('user_count')
          ? { user_count: (await this.presence.stats(app.id, channel)).numUsers }
          : {};
      }
      return { channels };
    });
  }

  @Get('channels/:channel')
  async channel(@Req() req: PusherRequest, @Res() res: ServerResponse): Promise<void> {
    await this.answer(req, res, 'stats', async (app, params) => {
      const ch = this.channelParam(req);
      const info = this.infoSet(params.get('info'), ['user_count', 'subscription_count', 'cache']);
      if (info.has('user_count') && ch.type !== 'presence')
        throw new PusherHttpError(400, 'user_count is only available for presence channels');
      const subscriptions = await this.serverApi.subscriptionCount(app, ch.herald);
      const out: Record<string, unknown> = { occupied: subscriptions > 0 };
      if (info.has('user_count')) out.user_count = (await this.presence.stats(app.id, ch.herald)).numUsers;
      if (info.has('subscription_count')) out.subscription_count = subscriptions;
      return out;
    });
  }

  @Get('channels/:channel/users')
  async users(@Req() req: PusherRequest, @Res() res: ServerResponse): Promise<void> {
    await this.answer(req, res, 'stats', async (app) => {
      const ch = this.channelParam(req);
      if (ch.type !== 'presence')
        throw new PusherHttpError(400, 'Users are only available for presence channels');
      const members = await this.presence.members(app.id, ch.herald);
      return { users: [...new Set(members.map((m) => m.user))].map((id) => ({ id })) };
    });
  }

  @Post('users/:user/terminate_connections')
  async terminate(@Req() req: PusherRequest, @Res() res: ServerResponse): Promise<void> {
    await this.answer(req, res, 'publish', async (app) => {
      const user = req.params?.user ?? '';
      if (!isValidUserId(user)) throw new PusherHttpError(400, 'Invalid user id');
      await this.serverApi.disconnectUser(app, user);
      return {};
    });
  }

  // --- helpers ---------------------------------------------------------------------------------

  /** Authenticates, runs the handler, answers JSON or Pusher's plain-text error. */
  private async answer(
    req: PusherRequest,
    res: ServerResponse,
    scope: SecretScope,
    handler: (app: AppConfig, params: Map<string, string>) => Promise<unknown>,
  ): Promise<void> {
    let status = 200;
    let body: string;
    let type = 'application/json';
    try {
      const { app, params } = await this.authenticate(req, scope);
      body = JSON.stringify(await handler(app, params));
    } catch (err) {
      type = 'text/plain; charset=utf-8';
      if (err instanceof PusherHttpError) {
        status = err.status;
        body = err.message;
      } else if (err instanceof HeraldError) {
        status = statusOf(err);
        body = err.message;
      } else {
        this.log.error({ msg: 'pusher http api failed', err: String(err) });
        status = 500;
        body = 'Internal server error';
      }
    }
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  }

  private async authenticate(
    req: PusherRequest,
    scope: SecretScope,
  ): Promise<{ app: AppConfig; params: Map<string, string> }> {
    const appId = req.params?.app ?? '';
    if (!APP_ID_RE.test(appId)) throw new PusherHttpError(404, 'Unknown app');
    let app: AppConfig | undefined;
    try {
      app = await this.control.getApp(appId);
    } catch {
      throw new PusherHttpError(503, 'App catalogue is unavailable, retry later');
    }
    if (!app) throw new PusherHttpError(404, 'Unknown app');
    if (!app.enabled) throw new PusherHttpError(403, 'Forbidden: app is disabled');
    const url = req.originalUrl ?? req.url ?? '/';
    const q = url.indexOf('?');
    const raw = req[RAW_BODY];
    const length = Number(req.headers['content-length'] ?? 0);
    if (raw === undefined && length > 0)
      throw new PusherHttpError(400, 'Body must be JSON (Content-Type: application/json)');
    if (raw !== undefined && raw.length > app.limits.maxBodyBytes)
      throw new PusherHttpError(413, `Request body exceeds ${app.limits.maxBodyBytes} bytes`);
    const check = verifyRequest(
      app,
      {
        method: req.method ?? 'GET',
        path: q === -1 ? url : url.slice(0, q),
        query: q === -1 ? '' : url.slice(q + 1),
        body: raw,
      },
      {
        nowSeconds: Math.floor(Date.now() / 1000),
        skewSeconds: this.config.pusher.authTimestampSkewSeconds,
        scope,
      },
    );
    if (!check.ok || !check.params) throw new PusherHttpError(check.status, check.message);
    return { app, params: check.params };
  }

  private channelParam(req: PusherRequest): PusherChannel {
    const ch = parsePusherChannel(req.params?.channel);
    if (!ch) throw new PusherHttpError(400, 'Invalid channel name');
    return ch;
  }

  private infoSet(value: string | undefined, allowed: string[]): Set<string> {
    const out = new Set<string>();
    if (!value) return out;
    for (const item of value.split(',')) {
      if (item === '') continue;
      if (!allowed.includes(item)) throw new PusherHttpError(400, `Unsupported info attribute "${item}"`);
      out.add(item);
    }
    return out;
  }

  private eventInput(body: Record<string, unknown>, multi: boolean): EventInput {
    const name = body.name;
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_EVENT_NAME)
      throw new PusherHttpError(400, `Event name must be 1-${MAX_EVENT_NAME} characters`);
    if (!('data' in body)) throw new PusherHttpError(400, 'Event has no data');
    const data = body.data;
    const dataText = typeof data === 'string' ? data : (JSON.stringify(data) ?? '');
    if (Buffer.byteLength(dataText, 'utf8') > this.config.pusher.maxEventDataBytes)
      throw new PusherHttpError(413, `Event data exceeds ${this.config.pusher.maxEventDataBytes} bytes`);
    let names: unknown[];
    if (multi && Array.isArray(body.channels)) names = body.channels;
    else if (typeof body.channel === 'string') names = [body.channel];
    else
      throw new PusherHttpError(
        400,
        multi ? 'channels must be an array of channel names' : 'channel is required',
      );
    if (names.length === 0 || names.length > this.config.pusher.maxEventChannels)
      throw new PusherHttpError(400, `An event goes to 1-${this.config.pusher.maxEventChannels} channels`);
    const channels = names.map((n) => {
      const ch = parsePusherChannel(n);
      if (!ch) throw new PusherHttpError(400, `Invalid channel name "${String(n).slice(0, 200)}"`);
      return ch;
    });
    const socketId = body.socket_id;
    if (socketId !== undefined && (typeof socketId !== 'string' || !SOCKET_ID_RE.test(socketId)))
      throw new PusherHttpError(400, 'Invalid socket id');
    const info = this.infoSet(typeof body.info === 'string' ? body.info : undefined, [
      'user_count',
      'subscription_count',
    ]);
    return { name, data, channels, ...(socketId !== undefined ? { socketId } : {}), info };
  }

  private async publishEvent(app: AppConfig, input: EventInput): Promise<void> {
    // Validate every channel before publishing to any, so a bad name publishes nothing.
    for (const ch of input.channels) resolveChannel(app, ch.herald);
    for (const ch of input.channels) {
      await this.publisher.publish(
        app,
        {
          channel: ch.herald,
          data: toHeraldData(input.name, input.data),
          ...(input.socketId !== undefined ? { exclude: input.socketId } : {}),
        },
        { rateLimited: true },
      );
    }
  }

  private async channelInfo(
    app: AppConfig,
    channels: PusherChannel[],
    info: Set<string>,
  ): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    for (const ch of channels) {
      const entry: Record<string, number> = {};
      if (info.has('subscription_count'))
        entry.subscription_count = await this.serverApi.subscriptionCount(app, ch.herald);
      if (info.has('user_count') && ch.type === 'presence')
        entry.user_count = (await this.presence.stats(app.id, ch.herald)).numUsers;
      out[ch.pusher] = entry;
    }
    return out;
  }
}
