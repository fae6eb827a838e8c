/**
 * The REST API over real HTTP (express through Nest, `listen(0)`, global fetch), with the services
 * behind it faked (rest.fakes.ts): auth, validation, the error shape, limits, every route, the
 * OpenAPI document and Swagger UI, and the health probes.
 */
import 'reflect-metadata';
import { Global, Module, type InjectionToken } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { TicketService } from '@herald/auth';
import { ConfigModule, type NodeConfig } from '@herald/config';
import { CONTROL_STORE } from '@herald/control';
import {
  ClientService,
  Hub,
  PublishService,
  ServerApiService,
  SessionSupervisor,
  UserPublishService,
  WriteScheduler,
} from '@herald/core';
import { ErrorCode, HeraldError } from '@herald/protocol';
import { configureHttp } from './configure-http.js';
import { HealthModule } from './health/health.module.js';
import type { HealthIndicator } from './health/health-indicator.js';
import type { OpenApiDocument } from './openapi.js';
import { RestModule } from './rest.module.js';
import { ROUTES } from './routes.js';
import { errorBody, MAX_BATCH_ITEMS, type ErrorBody } from './schemas.js';
import {
  CallLog,
  FakeControlStore,
  FakePublishService,
  FakeServerApiService,
  FakeSupervisor,
  FakeTicketService,
  OTHER_SECRET,
  SECRET_A,
  SECRET_B,
  testConfig,
} from './rest.fakes.js';

const REDIS_CHECK: InjectionToken = Symbol('RedisCheck');

interface Harness {
  url: string;
  config: NodeConfig;
  log: CallLog;
  control: FakeControlStore;
  publisher: FakePublishService;
  serverApi: FakeServerApiService;
  supervisor: FakeSupervisor;
  redis: { up: boolean };
  /** `METHOD /path` of every route express serves, `:param` written as OpenAPI `{param}`. */
  servedRoutes(): string[];
  close(): Promise<void>;
}

interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

async function boot(options: { extraIndicator?: boolean } = {}): Promise<Harness> {
  const config = testConfig();
  const log = new CallLog();
  const control = new FakeControlStore(config.apps);
  const publisher = new FakePublishService(log);
  const serverApi = new FakeServerApiService(log);
  const supervisor = new FakeSupervisor();
  const redis = { up: true };
  const redisCheck: HealthIndicator = { name: 'redis', ready: async () => redis.up };

  @Global()
  @Module({
    providers: [
      { provide: CONTROL_STORE, useValue: control },
      { provide: TicketService, useValue: new FakeTicketService(log) },
      { provide: REDIS_CHECK, useValue: redisCheck },
    ],
    exports: [CONTROL_STORE, TicketService, REDIS_CHECK],
  })
  class TestPortsModule {}

  const health = options.extraIndicator ? HealthModule.forRoot({ indicators: [REDIS_CHECK] }) : HealthModule;
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), TestPortsModule, RestModule, health],
  })
    .overrideProvider(PublishService)
    .useValue(publisher)
    .overrideProvider(ServerApiService)
    .useValue(serverApi)
    .overrideProvider(SessionSupervisor)
    .useValue(supervisor)
    .overrideProvider(Hub)
    .useValue({})
    .overrideProvider(ClientService)
    .useValue({})
    .overrideProvider(WriteScheduler)
    .useValue({})
    .overrideProvider(UserPublishService)
    .useValue({})
    .compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
  configureHttp(app, config);
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    config,
    log,
    control,
    publisher,
    serverApi,
    supervisor,
    redis,
    servedRoutes: () => {
      const stack = (app.getHttpAdapter().getInstance() as { router: { stack: RouterLayer[] } }).router.stack;
      return stack.flatMap((layer) =>
        layer.route
          ? Object.keys(layer.route.methods).map(
              (m) => `${m.toUpperCase()} ${layer.route?.path.replace(/:([a-z_]+)/g, '{$1}')}`,
            )
          : [],
      );
    },
    close: () => app.close(),
  };
}

let h: Harness;
beforeAll(async () => {
  h = await boot();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.log.calls.length = 0;
  h.log.failNext = undefined;
  h.control.failing = false;
  h.supervisor.draining = false;
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

async function call(
  method: string,
  path: string,
  init: { body?: unknown; raw?: string; secret?: string | null; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  const secret = init.secret === undefined ? SECRET_A : init.secret;
  if (secret !== null) headers.authorization ??= `Bearer ${secret}`;
  let body: string | undefined;
  if (init.raw !== undefined) body = init.raw;
  else if (init.body !== undefined) body = JSON.stringify(init.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(h.url + path, { method, headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const post = (path: string, body?: unknown, init: Parameters<typeof call>[2] = {}) =>
  call('POST', path, { ...init, body });
const get = (path: string, init: Parameters<typeof call>[2] = {}) => call('GET', path, init);

/** Asserts the one error shape and returns its `error`. */
function expectError(res: Answer, status: number, name: string): ErrorBody['error'] {
  expect({ status: res.status, body: res.json }).toMatchObject({ status, body: { error: { name } } });
  const parsed = errorBody.safeParse(res.json);
  expect(parsed.success).toBe(true);
  return (res.json as ErrorBody).error;
}

function callsOf(method: string) {
  return h.log.calls.filter((c) => c.method === method);
}

describe('auth', () => {
  it('refuses a request without credentials with 401 and WWW-Authenticate', async () => {
    const res = await post('/v1/apps/acme/publish', { channel: 'chat:a', data: 1 }, { secret: null });
    const err = expectError(res, 401, 'unauthorized');
    expect(err.code).toBe(ErrorCode.UNAUTHORIZED.code);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(callsOf('publish')).toHaveLength(0);
  });

  it('refuses a wrong secret, another app secret and another scheme, without echoing them', async () => {
    for (const authorization of [`Bearer wrong-${SECRET_A}`, `Bearer ${OTHER_SECRET}`, `Basic ${SECRET_A}`]) {
      const res = await post(
        '/v1/apps/acme/publish',
        { channel: 'chat:a', data: 1 },
        { headers: { authorization } },
      );
      expectError(res, 401, 'unauthorized');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.text).not.toContain(SECRET_A);
      expect(res.text).not.toContain(OTHER_SECRET);
    }
    expect(callsOf('publish')).toHaveLength(0);
  });

  it('accepts both live secrets (rotation), with any case of the scheme', async () => {
    expect((await post('/v1/apps/acme/publish', { channel: 'chat:a', data: 1 })).status).toBe(200);
    expect(
      (await post('/v1/apps/acme/publish', { channel: 'chat:a', data: 1 }, { secret: SECRET_B })).status,
    ).toBe(200);
    const lower = await post(
      '/v1/apps/acme/publish',
      { channel: 'chat:a', data: 1 },
      {
        headers: { authorization: `bearer ${SECRET_B}` },
      },
    );
    expect(lower.status).toBe(200);
  });

  it('answers unknown, disabled and malformed app ids with the same 404, before credentials', async () => {
    const unknown = await post('/v1/apps/nope/publish', { channel: 'a', data: 1 });
    const disabled = await post('/v1/apps/off/publish', { channel: 'a', data: 1 });
    const disabledNoAuth = await post('/v1/apps/off/publish', { channel: 'a', data: 1 }, { secret: null });
    const malformed = await post(`/v1/apps/${'x'.repeat(65)}/publish`, { channel: 'a', data: 1 });
    for (const res of [unknown, disabled, disabledNoAuth, malformed]) {
      expect(expectError(res, 404, 'unknown_app').code).toBe(ErrorCode.UNKNOWN_APP.code);
    }
    expect(disabled.text).toBe(unknown.text);
  });

  it('answers 503 with Retry-After when the control store fails (not "unknown app")', async () => {
    h.control.failing = true;
    const res = await get('/v1/apps/acme/info');
    expectError(res, 503, 'unavailable');
    expect(res.headers.get('retry-after')).toBe('1');
  });

  it('passes the resolved app to the service', async () => {
    await post('/v1/apps/acme/publish', { channel: 'chat:a', data: 1 });
    expect(callsOf('publish')[0].app).toBe('acme');
  });
});

describe('publish', () => {
  it('publishes and answers the stream position', async () => {
    const res = await post('/v1/apps/acme/publish', { channel: 'chat:lobby', data: { text: 'hi' } });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ offset: 7, epoch: 'ep1' });
    expect(callsOf('publish')[0].args).toEqual([
      { channel: 'chat:lobby', data: { text: 'hi' } },
      { rateLimited: true },
    ]);
  });

  it('answers {} for channels without history', async () => {
    h.publisher.result = {};
    try {
      const res = await post('/v1/apps/acme/publish', { channel: 'chat:lobby', data: 1 });
      expect(res.json).toEqual({});
    } finally {
      h.publisher.result = { offset: 7, epoch: 'ep1' };
    }
  });

  it('accepts any JSON value as data, null included', async () => {
    for (const data of [null, 0, false, '', [], { a: [1, { b: null }] }]) {
      expect((await post('/v1/apps/acme/publish', { channel: 'c', data })).status).toBe(200);
    }
  });

  it('takes the idempotency key from the header or the body; both must agree', async () => {
    await post('/v1/apps/acme/publish', { channel: 'c', data: 1 }, { headers: { 'idempotency-key': 'k1' } });
    await post('/v1/apps/acme/publish', { channel: 'c', data: 1, idempotency_key: 'k2' });
    await post(
      '/v1/apps/acme/publish',
      { channel: 'c', data: 1, idempotency_key: 'k3' },
      {
        headers: { 'idempotency-key': 'k3' },
      },
    );
    expect(callsOf('publish').map((c) => c.args[1])).toEqual([
      { idempotencyKey: 'k1', rateLimited: true },
      { idempotencyKey: 'k2', rateLimited: true },
      { idempotencyKey: 'k3', rateLimited: true },
    ]);
    const differ = await post(
      '/v1/apps/acme/publish',
      { channel: 'c', data: 1, idempotency_key: 'a' },
      {
        headers: { 'idempotency-key': 'b' },
      },
    );
    expectError(differ, 400, 'bad_request');
    const tooLong = await post(
      '/v1/apps/acme/publish',
      { channel: 'c', data: 1 },
      {
        headers: { 'idempotency-key': 'k'.repeat(256) },
      },
    );
    expectError(tooLong, 400, 'bad_request');
    expect(callsOf('publish')).toHaveLength(3);
  });

  it('validates the body: missing data, unknown fields, wrong types, not an object', async () => {
    const missing = expectError(await post('/v1/apps/acme/publish', { channel: 'c' }), 400, 'bad_request');
    expect(missing.details?.issues).toEqual([expect.objectContaining({ path: 'data' })]);
    const unknown = expectError(
      await post('/v1/apps/acme/publish', { channel: 'c', data: 1, chanel: 'x' }),
      400,
      'bad_request',
    );
    expect(JSON.stringify(unknown.details)).toContain('chanel');
    const wrongType = expectError(
      await post('/v1/apps/acme/publish', { channel: 5, data: 1 }),
      400,
      'bad_request',
    );
    expect(wrongType.details?.issues).toEqual([expect.objectContaining({ path: 'channel' })]);
    expectError(await post('/v1/apps/acme/publish', [1, 2]), 400, 'bad_request');
    expectError(await post('/v1/apps/acme/publish'), 400, 'bad_request');
    expect(callsOf('publish')).toHaveLength(0);
  });

  it('answers malformed JSON with bad_request, without quoting it', async () => {
    const res = await call('POST', '/v1/apps/acme/publish', { raw: '{"channel": "c", "data": SECRETSAUCE' });
    const err = expectError(res, 400, 'bad_request');
    expect(err.code).toBe(ErrorCode.BAD_REQUEST.code);
    expect(res.text).not.toContain('SECRETSAUCE');
  });

  it('refuses a body that is not JSON', async () => {
    const res = await call('POST', '/v1/apps/acme/publish', {
      raw: '{"channel":"c","data":1}',
      headers: { 'content-type': 'text/plain' },
    });
    expectError(res, 400, 'bad_request');
  });

  it('renders service errors: 429 with Retry-After rounded up, 409 idempotency conflict', async () => {
    h.log.failNext = new HeraldError(ErrorCode.RATE_LIMITED, 'app publish rate exceeded', {
      retryAfterMs: 1200,
    });
    const limited = await post('/v1/apps/acme/publish', { channel: 'c', data: 1 });
    expect(expectError(limited, 429, 'rate_limited').details).toEqual({ retryAfterMs: 1200 });
    expect(limited.headers.get('retry-after')).toBe('2');

    h.log.failNext = new HeraldError(ErrorCode.IDEMPOTENCY_CONFLICT);
    expectError(
      await post('/v1/apps/acme/publish', { channel: 'c', data: 1, idempotency_key: 'k' }),
      409,
      'idempotency_conflict',
    );

    h.log.failNext = new HeraldError(ErrorCode.UNAVAILABLE, 'bus is down', { retryAfterMs: 4500 });
    const unavailable = await post('/v1/apps/acme/publish', { channel: 'c', data: 1 });
    expectError(unavailable, 503, 'unavailable');
    expect(unavailable.headers.get('retry-after')).toBe('5');
  });

  it('answers unexpected errors with 500 internal and no internals', async () => {
    h.log.failNext = new Error('redis://admin:hunter2@10.0.0.5 refused');
    const res = await post('/v1/apps/acme/publish', { channel: 'c', data: 1 });
    const err = expectError(res, 500, 'internal');
    expect(err.message).toBe(ErrorCode.INTERNAL.message);
    expect(res.text).not.toContain('hunter2');
    expect(res.text).not.toContain('redis');
  });
});

describe('body limits', () => {
  const big = (n: number) => ({ channel: 'c', data: 'x'.repeat(n) });

  it('refuses a body over the app limit (Content-Length) with 413 after auth', async () => {
    const res = await post('/v1/apps/acme/publish', big(3000));
    const err = expectError(res, 413, 'payload_too_large');
    expect(err.code).toBe(ErrorCode.PAYLOAD_TOO_LARGE.code);
    expect(callsOf('publish')).toHaveLength(0);
    // Unauthenticated callers learn nothing about the app's limits.
    expectError(await post('/v1/apps/acme/publish', big(3000), { secret: null }), 401, 'unauthorized');
  });

  it('refuses a chunked body over the app limit', async () => {
    const bytes = new TextEncoder().encode(JSON.stringify(big(3000)));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 1000));
        controller.enqueue(bytes.slice(1000));
        controller.close();
      },
    });
    const res = await fetch(`${h.url}/v1/apps/acme/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRET_A}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorBody).error.name).toBe('payload_too_large');
  });

  it('refuses a body over the node-wide parser limit with 413 in the same shape', async () => {
    const res = await post('/v1/apps/acme/publish', big(1024 * 1024 + 10), { secret: null });
    expectError(res, 413, 'payload_too_large');
  });

  it('accepts a body just under the app limit', async () => {
    expect((await post('/v1/apps/acme/publish', big(1900))).status).toBe(200);
  });
});

describe('broadcast', () => {
  it('publishes to every channel and reports errors per channel with the error name', async () => {
    const res = await post(
      '/v1/apps/acme/broadcast',
      { channels: ['chat:a', 'bad:b'], data: 1 },
      {
        headers: { 'idempotency-key': 'bk' },
      },
    );
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      responses: [
        { channel: 'chat:a', offset: 7, epoch: 'ep1' },
        {
          channel: 'bad:b',
          error: { code: 102, name: 'unknown_channel', message: 'namespace "bad" is not configured' },
        },
      ],
    });
    expect(callsOf('broadcast')[0].args).toEqual([
      ['chat:a', 'bad:b'],
      1,
      { idempotencyKey: 'bk', rateLimited: true },
    ]);
  });

  it('refuses more than 100 channels with limit_batch and none with bad_request', async () => {
    const many = Array.from({ length: MAX_BATCH_ITEMS + 1 }, (_, i) => `c${i}`);
    expect(
      expectError(await post('/v1/apps/acme/broadcast', { channels: many, data: 1 }), 400, 'limit_batch')
        .code,
    ).toBe(ErrorCode.LIMIT_BATCH.code);
    expectError(await post('/v1/apps/acme/broadcast', { channels: [], data: 1 }), 400, 'bad_request');
    expect(callsOf('broadcast')).toHaveLength(0);
  });
});

describe('user publish', () => {
  it("publishes into the user's personal channel", async () => {
    const res = await post('/v1/apps/acme/users/u-42/publish', { data: { n: 1 }, idempotency_key: 'x' });
    expect(res.json).toEqual({ offset: 7, epoch: 'ep1' });
    expect(callsOf('publish')[0].args).toEqual([
      { channel: '#u-42', data: { n: 1 } },
      { idempotencyKey: 'x', rateLimited: true },
    ]);
  });

  it('refuses an invalid user id', async () => {
    expectError(await post('/v1/apps/acme/users/a%20b/publish', { data: 1 }), 400, 'bad_request');
    expectError(
      await post(`/v1/apps/acme/users/${'u'.repeat(129)}/publish`, { data: 1 }),
      400,
      'bad_request',
    );
    expect(callsOf('publish')).toHaveLength(0);
  });
});

describe('batch', () => {
  it('runs commands in order and answers each, failures included', async () => {
    const res = await post('/v1/apps/acme/batch', {
      commands: [
        { method: 'publish', params: { channel: 'chat:a', data: 1, idempotency_key: 'p1' } },
        { method: 'publish', params: { channel: 'chat:a' } },
        { method: 'broadcast', params: { channels: ['chat:a', 'bad:x'], data: 2 } },
        { method: 'disconnect', params: { user: 'u1' } },
        { method: 'unsubscribe', params: { user: 'u1', channel: 'chat:a' } },
        { method: 'explode', params: {} },
        { method: 'disconnect', params: { user: 'bad user' } },
      ],
    });
    expect(res.status).toBe(200);
    const { replies } = res.json as { replies: Record<string, Record<string, unknown>>[] };
    expect(replies).toHaveLength(7);
    expect(replies[0]).toEqual({ result: { offset: 7, epoch: 'ep1' } });
    expect(replies[1].error).toMatchObject({ code: 107, name: 'bad_request' });
    expect(replies[1].error.details).toEqual({ issues: [expect.objectContaining({ path: 'params.data' })] });
    expect((replies[2].result.responses as unknown[])[1]).toMatchObject({
      channel: 'bad:x',
      error: { name: 'unknown_channel' },
    });
    expect(replies[3]).toEqual({ result: {} });
    expect(replies[4]).toEqual({ result: {} });
    expect(replies[5].error).toMatchObject({ name: 'bad_request' });
    expect(replies[6].error).toMatchObject({ name: 'bad_request' });
    expect(h.log.calls.map((c) => c.method)).toEqual([
      'publish',
      'broadcast',
      'disconnectUser',
      'unsubscribeUser',
    ]);
    expect(callsOf('publish')[0].args[1]).toEqual({ idempotencyKey: 'p1', rateLimited: true });
  });

  it('reports an unexpected failure in its reply and goes on', async () => {
    h.log.failNext = new Error('boom: internal detail');
    const res = await post('/v1/apps/acme/batch', {
      commands: [
        { method: 'disconnect', params: { user: 'u1' } },
        { method: 'disconnect', params: { user: 'u2' } },
      ],
    });
    expect(res.json).toEqual({
      replies: [
        { error: { code: 100, name: 'internal', message: ErrorCode.INTERNAL.message } },
        { result: {} },
      ],
    });
  });

  it('refuses empty and oversized batches, a broadcast over 100 channels, and the Idempotency-Key header', async () => {
    expectError(await post('/v1/apps/acme/batch', { commands: [] }), 400, 'bad_request');
    const many = Array.from({ length: MAX_BATCH_ITEMS + 1 }, () => ({
      method: 'disconnect',
      params: { user: 'u' },
    }));
    // (app `other`: 101 commands exceed acme's small body limit)
    expectError(
      await post('/v1/apps/other/batch', { commands: many }, { secret: OTHER_SECRET }),
      400,
      'limit_batch',
    );
    const wide = Array.from({ length: MAX_BATCH_ITEMS + 1 }, (_, i) => `c${i}`);
    const res = await post('/v1/apps/acme/batch', {
      commands: [{ method: 'broadcast', params: { channels: wide, data: 1 } }],
    });
    expect(res.json).toMatchObject({ replies: [{ error: { name: 'limit_batch' } }] });
    const withKey = await post(
      '/v1/apps/acme/batch',
      { commands: [{ method: 'disconnect', params: { user: 'u' } }] },
      {
        headers: { 'idempotency-key': 'k' },
      },
    );
    expectError(withKey, 400, 'bad_request');
    expect(h.log.calls).toHaveLength(0);
  });
});

describe('channels, presence and history', () => {
  it('lists channels, with an optional prefix', async () => {
    const res = await get('/v1/apps/acme/channels?prefix=chat');
    expect(res.json).toEqual({ channels: [{ channel: 'chat:lobby', subscribers: 3 }] });
    expect(callsOf('channels')[0].args).toEqual(['chat']);
    await get('/v1/apps/acme/channels');
    expect(callsOf('channels')[1].args).toEqual(['']);
    expectError(await get('/v1/apps/acme/channels?prefx=a'), 400, 'bad_request');
  });

  it('decodes URL-encoded channel names (# : ,)', async () => {
    const res = await get(`/v1/apps/acme/channels/${encodeURIComponent('chat:dialog#u1,u2')}/presence`);
    expect(res.json).toEqual({ members: [{ user: 'u1', client: 'c1', info: { name: 'Ann' } }] });
    await get('/v1/apps/acme/channels/chat:lobby/presence');
    expect(callsOf('presenceMembers').map((c) => c.args[0])).toEqual(['chat:dialog#u1,u2', 'chat:lobby']);
  });

  it('answers presence stats', async () => {
    const res = await get('/v1/apps/acme/channels/%23u1/presence_stats');
    expect(res.json).toEqual({ num_clients: 2, num_users: 1 });
    expect(callsOf('presenceStats')[0].args).toEqual(['#u1']);
  });

  it('renders service errors such as not_available', async () => {
    h.log.failNext = new HeraldError(ErrorCode.NOT_AVAILABLE, 'presence is not enabled for this channel');
    expectError(await get('/v1/apps/acme/channels/news/presence'), 404, 'not_available');
  });

  it('reads history with limit, since and reverse', async () => {
    const res = await get(
      '/v1/apps/acme/channels/chat:a/history?limit=5&since_offset=3&since_epoch=ep1&reverse=true',
    );
    expect(res.json).toEqual({
      publications: [{ offset: 1, data: { text: 'hi' } }],
      offset: 1,
      epoch: 'ep1',
    });
    expect(callsOf('history')[0].args).toEqual([
      'chat:a',
      { limit: 5, since: { offset: 3, epoch: 'ep1' }, reverse: true },
    ]);
    await get('/v1/apps/acme/channels/chat:a/history');
    expect(callsOf('history')[1].args).toEqual([
      'chat:a',
      { limit: undefined, since: undefined, reverse: undefined },
    ]);
  });

  it('validates the history query', async () => {
    for (const q of [
      'since_offset=3',
      'since_epoch=e',
      'limit=abc',
      'limit=1.5',
      'limit=-2',
      'reverse=yes',
      'x=1',
    ]) {
      expectError(await get(`/v1/apps/acme/channels/chat:a/history?${q}`), 400, 'bad_request');
    }
    expect(callsOf('history')).toHaveLength(0);
  });
});

describe('users and tokens', () => {
  it('disconnects a user, with or without an empty body', async () => {
    expect((await post('/v1/apps/acme/users/u1/disconnect')).json).toEqual({});
    expect((await post('/v1/apps/acme/users/u1/disconnect', {})).json).toEqual({});
    expectError(await post('/v1/apps/acme/users/u1/disconnect', { force: true }), 400, 'bad_request');
    expect(callsOf('disconnectUser').map((c) => c.args)).toEqual([['u1'], ['u1']]);
  });

  it('unsubscribes a user from a channel', async () => {
    expect((await post('/v1/apps/acme/users/u1/unsubscribe', { channel: 'chat:a' })).json).toEqual({});
    expect(callsOf('unsubscribeUser')[0].args).toEqual(['u1', 'chat:a']);
    expectError(await post('/v1/apps/acme/users/u1/unsubscribe', {}), 400, 'bad_request');
  });

  it('revokes a token by jti', async () => {
    expect(
      (await post('/v1/apps/acme/tokens/revoke', { jti: 'j1', expires_at: 1_900_000_000 })).json,
    ).toEqual({});
    expect(callsOf('revokeToken')[0].args).toEqual(['j1', 1_900_000_000]);
    expectError(await post('/v1/apps/acme/tokens/revoke', { jti: 'j1' }), 400, 'bad_request');
  });

  it("revokes a user's tokens, defaulting to now and 24 h", async () => {
    const before = Math.floor(Date.now() / 1000);
    expect((await post('/v1/apps/acme/users/u1/revoke_tokens', {})).json).toEqual({});
    const [user, issuedBefore, ttl] = callsOf('revokeUserTokens')[0].args as [string, number, number];
    expect(user).toBe('u1');
    expect(issuedBefore).toBeGreaterThanOrEqual(before);
    expect(ttl).toBe(86400);
    await post('/v1/apps/acme/users/u1/revoke_tokens', { issued_before: 100, ttl_seconds: 60 });
    expect(callsOf('revokeUserTokens')[1].args).toEqual(['u1', 100, 60]);
  });

  it('mints a ticket with the configured lifetime', async () => {
    const res = await post('/v1/apps/acme/tickets', { user: 'u1', info: { n: 'Ann' }, channels: ['chat:a'] });
    expect(res.json).toEqual({ ticket: 'T'.repeat(43), expires_at: 1_700_000_000 + 60 });
    expect(callsOf('mint')[0]).toEqual({
      method: 'mint',
      app: 'acme',
      args: [{ user: 'u1', info: { n: 'Ann' }, channels: ['chat:a'], ttlSeconds: 60 }],
    });
    expectError(await post('/v1/apps/acme/tickets', { user: 'not valid' }), 400, 'bad_request');
  });

  it('answers node info for the app', async () => {
    expect((await get('/v1/apps/acme/info')).json).toEqual({ node: 'node-test-1', connections: 4 });
    expect(callsOf('info')[0].app).toBe('acme');
  });
});

describe('unknown routes', () => {
  it('answers method_not_found in the error shape', async () => {
    for (const res of [
      await get('/nope'),
      await post('/v1/apps/acme/nope', {}),
      await call('DELETE', '/v1/apps/acme/publish'),
    ]) {
      expect(expectError(res, 404, 'method_not_found').code).toBe(ErrorCode.METHOD_NOT_FOUND.code);
    }
  });

  it('answers a bad percent-encoding with bad_request', async () => {
    expectError(await get('/v1/apps/acme/channels/%E0%A4%A/presence'), 400, 'bad_request');
  });

  it('sends no X-Powered-By', async () => {
    expect((await get('/healthz')).headers.get('x-powered-by')).toBeNull();
  });
});

describe('OpenAPI and Swagger UI', () => {
  let doc: OpenApiDocument;
  beforeAll(async () => {
    const res = await get('/v1/openapi.json', { secret: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    doc = res.json as OpenApiDocument;
  });

  it('is an OpenAPI 3.1 document with every route', () => {
    expect(doc.openapi).toBe('3.1.0');
    for (const route of ROUTES) {
      expect({ path: route.path, op: doc.paths[route.path]?.[route.method]?.operationId }).toEqual({
        path: route.path,
        op: route.operationId,
      });
    }
    expect(doc.components.securitySchemes.serverSecret).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('resolves every $ref to a schema it defines', () => {
    const refs = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref' && typeof x === 'string') refs.add(x);
          else walk(x);
        }
      }
    };
    walk(doc);
    expect(refs.size).toBeGreaterThan(5);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(doc.components.schemas[ref.slice('#/components/schemas/'.length)]).toBeDefined();
    }
  });

  it('documents exactly the routes the server serves', async () => {
    const documented = ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`).sort();
    expect([...new Set(h.servedRoutes())].sort()).toEqual(documented);
  });

  it('answers every documented operation', async () => {
    // Each documented operation answers something other than "no such route".
    for (const route of ROUTES) {
      const path = route.path
        .replace('{app}', 'acme')
        .replace('{channel}', 'chat:a')
        .replace('{user}', 'u1')
        .replace('{file}', 'swagger-ui.css');
      const res = await call(route.method.toUpperCase(), path, route.method === 'post' ? { body: {} } : {});
      expect({ path, name: (res.json as ErrorBody | undefined)?.error?.name }).not.toEqual({
        path,
        name: 'method_not_found',
      });
    }
  });

  it('serves Swagger UI from the package, pointed at the document', async () => {
    const page = await get('/docs', { secret: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain('/docs/swagger-ui-bundle.js');
    expect(page.text).not.toMatch(/https?:\/\//);
    const bundle = await get('/docs/swagger-ui-bundle.js', { secret: null });
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect(bundle.text.length).toBeGreaterThan(100_000);
    const css = await get('/docs/swagger-ui.css', { secret: null });
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    const init = await get('/docs/swagger-initializer.js', { secret: null });
    expect(init.text).toContain('"/v1/openapi.json"');
  });

  it('serves nothing else from the file system', async () => {
    for (const f of ['package.json', '..%2Fpackage.json', 'swagger-ui.js.map', '__proto__', 'constructor']) {
      expectError(await get(`/docs/${f}`, { secret: null }), 404, 'method_not_found');
    }
  });
});

describe('health', () => {
  it('is live and ready, then not ready while draining', async () => {
    expect(await get('/healthz', { secret: null })).toMatchObject({ status: 200, json: { status: 'ok' } });
    expect(await get('/readyz', { secret: null })).toMatchObject({ status: 200, json: { status: 'ok' } });
    h.supervisor.draining = true;
    expect(await get('/readyz', { secret: null })).toMatchObject({
      status: 503,
      json: { status: 'draining' },
    });
    expect(await get('/healthz', { secret: null })).toMatchObject({ status: 200 });
  });

  it('aggregates registered indicators after the drain check', async () => {
    const other = await boot({ extraIndicator: true });
    try {
      const ready = await fetch(`${other.url}/readyz`);
      expect(ready.status).toBe(200);
      other.redis.up = false;
      const down = await fetch(`${other.url}/readyz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({ status: 'unavailable', failing: ['redis'] });
      other.supervisor.draining = true;
      expect(await (await fetch(`${other.url}/readyz`)).json()).toEqual({ status: 'draining' });
    } finally {
      await other.close();
    }
  });
});

describe('config', () => {
  it('uses the test config', () => {
    expect(h.config.apps.map((a) => a.id)).toEqual(['acme', 'other', 'off']);
  });
});
