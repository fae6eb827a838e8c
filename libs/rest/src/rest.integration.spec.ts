/**
 * The REST API on the real core services and the embedded memory drivers (what `npm start` runs),
 * over HTTP: what the fakes of rest.http.spec.ts cannot show, i.e. offsets and history, idempotent
 * retries delivering nothing twice and keys scoped per app, the publish rate limit, per-app isolation.
 */
import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { AuthModule } from '@herald/auth';
import { BusModule } from '@herald/bus';
import { ConfigModule, type NodeConfig } from '@herald/config';
import { ControlModule } from '@herald/control';
import { CoreModule, SessionSupervisor } from '@herald/core';
import { HistoryModule } from '@herald/history';
import { PresenceModule } from '@herald/presence';
import { StateModule } from '@herald/state';
import { configureHttp } from './configure-http.js';
import { HealthModule } from './health/health.module.js';
import { RestModule } from './rest.module.js';
import { OTHER_SECRET, SECRET_A, testConfig } from './rest.fakes.js';

let app: NestExpressApplication;
let url: string;
let config: NodeConfig;

beforeAll(async () => {
  config = testConfig();
  // A tight publish rate for app `other` (1/s, burst 2) to see the limiter answer through REST.
  config.apps[1].limits.publishesPerSecond = 1;
  config.apps[1].namespaces[''] = { ...config.apps[1].namespaces[''], historySize: 10 };
  const moduleRef = await Test.createTestingModule({
    imports: [
      ConfigModule.forRoot(config),
      BusModule.forRoot({ driver: 'memory' }),
      PresenceModule.forRoot({ driver: 'memory' }),
      HistoryModule.forRoot({ driver: 'memory' }),
      StateModule.forRoot({ driver: 'memory' }),
      ControlModule.forRoot({ driver: 'config' }),
      AuthModule,
      CoreModule,
      RestModule,
      HealthModule,
    ],
  }).compile();
  app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
  configureHttp(app, config);
  await app.listen(0, '127.0.0.1');
  url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app.close();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  secret = SECRET_A,
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url + path, {
    method,
    headers: {
      authorization: `Bearer ${secret}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

it('publishes with offsets and reads them back from history', async () => {
  const first = await call('POST', '/v1/apps/acme/publish', { channel: 'chat:one', data: { n: 1 } });
  const second = await call('POST', '/v1/apps/acme/publish', { channel: 'chat:one', data: { n: 2 } });
  expect(first.status).toBe(200);
  expect(first.json).toEqual({ offset: 1, epoch: expect.any(String) });
  expect(second.json).toEqual({ offset: 2, epoch: first.json.epoch });

  const history = await call('GET', '/v1/apps/acme/channels/chat:one/history');
  expect(history.json).toEqual({
    publications: [
      { offset: 1, data: { n: 1 } },
      { offset: 2, data: { n: 2 } },
    ],
    offset: 2,
    epoch: first.json.epoch,
  });
  const since = await call(
    'GET',
    `/v1/apps/acme/channels/chat:one/history?since_offset=1&since_epoch=${String(first.json.epoch)}`,
  );
  expect(since.json.publications).toEqual([{ offset: 2, data: { n: 2 } }]);
  const stale = await call('GET', '/v1/apps/acme/channels/chat:one/history?since_offset=1&since_epoch=gone');
  expect(stale.status).toBe(409);
  expect(stale.json).toMatchObject({ error: { name: 'unrecoverable_position' } });
});

it('returns the first result for a retried key and publishes once; keys are scoped per app', async () => {
  const key = { 'idempotency-key': 'order-17' };
  const a = await call('POST', '/v1/apps/acme/publish', { channel: 'chat:idem', data: 'x' }, key);
  const b = await call('POST', '/v1/apps/acme/publish', { channel: 'chat:idem', data: 'x' }, key);
  expect(b.json).toEqual(a.json);
  const history = await call('GET', '/v1/apps/acme/channels/chat:idem/history');
  expect(history.json.publications).toHaveLength(1);

  const other = await call(
    'POST',
    '/v1/apps/other/publish',
    { channel: 'idem', data: 'x' },
    key,
    OTHER_SECRET,
  );
  expect(other.status).toBe(200);
  expect(other.json).toMatchObject({ offset: 1 });
});

it('refuses a key first used for a publish when it comes back on a broadcast', async () => {
  const key = { 'idempotency-key': 'mixed-17' };
  expect((await call('POST', '/v1/apps/acme/publish', { channel: 'chat:mix', data: 1 }, key)).status).toBe(
    200,
  );
  const res = await call('POST', '/v1/apps/acme/broadcast', { channels: ['chat:mix'], data: 1 }, key);
  expect(res.status).toBe(422);
  expect(res.json).toMatchObject({ error: { name: 'idempotency_key_reused' } });
});

it('refuses a key reused with different data, and replays the true retry', async () => {
  const key = { 'idempotency-key': 'reuse-18' };
  const first = await call('POST', '/v1/apps/acme/publish', { channel: 'chat:reuse', data: 1 }, key);
  const retry = await call('POST', '/v1/apps/acme/publish', { channel: 'chat:reuse', data: 1 }, key);
  expect(retry.json).toEqual(first.json);
  const other = await call('POST', '/v1/apps/acme/publish', { channel: 'chat:reuse', data: 2 }, key);
  expect(other.status).toBe(422);
});

it('answers the app publish rate with 429 and Retry-After', async () => {
  let limited: Awaited<ReturnType<typeof call>> | undefined;
  for (let i = 0; i < 5 && !limited; i++) {
    const res = await call('POST', '/v1/apps/other/publish', { channel: 'rate', data: i }, {}, OTHER_SECRET);
    if (res.status === 429) limited = res;
  }
  expect(limited?.json).toMatchObject({ error: { code: 301, name: 'rate_limited' } });
  expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
});

it('answers core errors in the error shape', async () => {
  const unknown = await call('POST', '/v1/apps/acme/publish', { channel: 'nowhere:x', data: 1 });
  expect(unknown.status).toBe(404);
  expect(unknown.json).toMatchObject({ error: { name: 'unknown_channel' } });
  const noPresence = await call('GET', '/v1/apps/other/channels/x/presence', undefined, {}, OTHER_SECRET);
  expect(noPresence.json).toMatchObject({ error: { name: 'not_available' } });
});

it('serves presence, channels, user control, tokens, tickets and info on the real services', async () => {
  expect((await call('GET', '/v1/apps/acme/channels/chat:one/presence')).json).toEqual({ members: [] });
  expect((await call('GET', '/v1/apps/acme/channels/%23u1/presence_stats')).json).toEqual({
    num_clients: 0,
    num_users: 0,
  });
  expect((await call('GET', '/v1/apps/acme/channels')).json).toEqual({ channels: [] });
  expect((await call('POST', '/v1/apps/acme/users/u1/disconnect')).json).toEqual({});
  expect((await call('POST', '/v1/apps/acme/users/u1/unsubscribe', { channel: 'chat:one' })).json).toEqual(
    {},
  );
  expect((await call('POST', '/v1/apps/acme/users/u1/revoke_tokens', {})).json).toEqual({});
  const exp = Math.floor(Date.now() / 1000) + 60;
  expect((await call('POST', '/v1/apps/acme/tokens/revoke', { jti: 'j1', expires_at: exp })).json).toEqual(
    {},
  );
  const ticket = await call('POST', '/v1/apps/acme/tickets', { user: 'u1' });
  expect(ticket.json).toEqual({
    ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    expires_at: expect.any(Number),
  });
  expect(ticket.json.expires_at).toBeGreaterThan(Date.now() / 1000);
  expect((await call('GET', '/v1/apps/acme/info')).json).toEqual({ node: config.nodeId, connections: 0 });
  const user = await call('POST', '/v1/apps/acme/users/u1/publish', { data: 'hello' });
  expect(user.json).toEqual({ offset: 1, epoch: expect.any(String) });
});

it('is ready until the node drains', async () => {
  expect((await fetch(`${url}/readyz`)).status).toBe(200);
  await app.get(SessionSupervisor).drain(0);
  const res = await fetch(`${url}/readyz`);
  expect(res.status).toBe(503);
  expect(await res.json()).toEqual({ status: 'draining' });
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
});
