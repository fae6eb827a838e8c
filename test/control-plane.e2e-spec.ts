/**
 * The control plane end to end: the admin API on a real node (PGlite), a restart keeping state,
 * rotation and revocation seen by a second node, and tenancy.
 *
 * Two nodes: in-process, sharing one PostgreSQL database (the cluster driver) and one MemoryBus
 * standing in for Kafka. In-process because the bus is what carries `app_changed`, and the only
 * bus two processes could share is Kafka (another engineer's driver); the caches are given a TTL of
 * an hour, so a change seen on node B within the test can only have come through the bus.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Test } from '@nestjs/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { BUS, MemoryBus } from '@herald/bus';
import { nodeConfigSchema, type NodeConfig, type NodeConfigInput } from '@herald/config';
import { DEVICE_STORE, type DeviceStore } from '@herald/control';
import { createPostgresDatabase } from '@herald/control/testing';
import { SessionSupervisor } from '@herald/core';
import { HeraldLogger } from '@herald/observability';
import { DisconnectCode, ErrorCode } from '@herald/protocol';
import { HeraldWsAdapter } from '@herald/realtime';
import { configureHttp } from '@herald/rest';
import { startNode, type RunningNode } from '@herald/runtime';
import { describeWithService, ReplyError, signHs256, TestClient, waitFor } from '@herald/testing';
import { StandaloneModule } from '../apps/standalone/src/standalone.module.js';

const ADMIN_TOKEN = `adm_${randomBytes(24).toString('base64url')}`;

interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  text: string;
}

async function call<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; bearer?: string | null } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = {};
  const bearer = options.bearer === undefined ? ADMIN_TOKEN : options.bearer;
  if (bearer !== null) headers['authorization'] = `Bearer ${bearer}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T, text };
}

interface CreatedApp {
  app: { id: string };
  key: { key: string };
  secret: { secret: string; record: { id: string } };
}

function configInput(over: Partial<NodeConfigInput>): NodeConfigInput {
  return {
    env: 'development',
    http: { host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
    shutdown: { drainSeconds: 1 },
    admin: { token: ADMIN_TOKEN },
    ...over,
  };
}

const wsUrl = (base: string, key: string) =>
  `${base.replace(/^http/, 'ws')}/connection/websocket?key=${encodeURIComponent(key)}`;

async function connect(
  base: string,
  key: string,
  secret: string,
  appId: string,
  user = 'u1',
): Promise<TestClient> {
  const client = await TestClient.open(wsUrl(base, key));
  await client.request({ cmd: 'connect', token: signHs256(secret, { sub: user, aud: appId }) });
  return client;
}

async function connectError(base: string, key: string, secret: string, appId: string): Promise<number> {
  const client = await TestClient.open(wsUrl(base, key));
  try {
    await client.request({ cmd: 'connect', token: signHs256(secret, { sub: 'u1', aud: appId }) });
  } catch (err) {
    if (err instanceof ReplyError) return err.code;
    throw err;
  } finally {
    await client.close();
  }
  return 0;
}

const info = (base: string, appId: string, secret: string) =>
  call(base, 'GET', `/v1/apps/${appId}/info`, { bearer: secret });

describe('admin API on the embedded store (PGlite)', () => {
  let dir: string;
  let node: RunningNode | undefined;
  let base: string;
  const config = () =>
    nodeConfigSchema.parse(configInput({ control: { driver: 'pglite', dataDir: join(dir, 'data') } }));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-e2e-control-'));
    node = await startNode({
      role: 'standalone',
      module: (c) => StandaloneModule.forRoot(c),
      websocket: true,
      config: config(),
    });
    base = node.url;
  }, 60_000);

  afterAll(async () => {
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('requires the admin token, separate from app secrets', async () => {
    expect((await call(base, 'GET', '/v1/admin/apps', { bearer: null })).status).toBe(401);
    const wrong = await call(base, 'GET', '/v1/admin/apps', { bearer: 'x'.repeat(40) });
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain(ADMIN_TOKEN);
    const { body } = await call<CreatedApp>(base, 'POST', '/v1/admin/apps', { body: { id: 'tok-test' } });
    // A server secret without the admin scope is not an admin credential.
    expect((await call(base, 'GET', '/v1/admin/apps', { bearer: body.secret.secret })).status).toBe(401);
    expect((await call(base, 'GET', '/v1/admin/apps/tok-test', { bearer: body.secret.secret })).status).toBe(
      401,
    );
  });

  it('creates, reads, updates, disables, enables and deletes apps; the data plane follows', async () => {
    const created = await call<CreatedApp>(base, 'POST', '/v1/admin/apps', {
      body: {
        id: 'acme',
        name: 'Acme',
        namespaces: { chat: { presence: true } },
        allowed_origins: ['https://acme.io'],
      },
    });
    expect(created.status).toBe(201);
    const { key, secret } = created.body;
    expect((await info(base, 'acme', secret.secret)).status).toBe(200);
    const client = await connect(base, key.key, secret.secret, 'acme');
    await client.request({ cmd: 'subscribe', channel: 'chat:room' });

    const shown = await call(base, 'GET', '/v1/admin/apps/acme');
    expect(shown.body).toMatchObject({ id: 'acme', name: 'Acme', managed_by: 'api', enabled: true });
    expect(shown.text).not.toContain(secret.secret);
    expect(
      (await call(base, 'PATCH', '/v1/admin/apps/acme', { body: { name: 'Acme 2' } })).body,
    ).toMatchObject({ name: 'Acme 2' });
    expect((await call(base, 'POST', '/v1/admin/apps', { body: { id: 'acme' } })).body).toMatchObject({
      error: { name: ErrorCode.ALREADY_EXISTS.name },
    });

    // Disabling closes live connections and refuses the REST API.
    expect((await call(base, 'POST', '/v1/admin/apps/acme/disable')).body).toMatchObject({ enabled: false });
    expect((await client.waitClosed()).code).toBe(DisconnectCode.UNKNOWN_APP.code);
    expect((await info(base, 'acme', secret.secret)).status).toBe(404);
    await call(base, 'POST', '/v1/admin/apps/acme/enable');
    expect((await info(base, 'acme', secret.secret)).status).toBe(200);

    const list = await call<{ apps: { id: string }[] }>(base, 'GET', '/v1/admin/apps');
    expect(list.body.apps.map((a) => a.id)).toEqual(expect.arrayContaining(['acme']));
    expect(list.text).not.toContain(secret.secret);

    expect((await call(base, 'DELETE', '/v1/admin/apps/acme')).status).toBe(200);
    expect((await info(base, 'acme', secret.secret)).status).toBe(404);
    expect((await call(base, 'GET', '/v1/admin/apps/acme')).body).toMatchObject({
      error: { name: 'unknown_app' },
    });
  });

  it('scopes secrets: stats reads, publish writes, token signs, admin administers its own app only', async () => {
    const { body } = await call<CreatedApp>(base, 'POST', '/v1/admin/apps', { body: { id: 'scoped' } });
    const other = await call<CreatedApp>(base, 'POST', '/v1/admin/apps', { body: { id: 'scoped-other' } });
    const mk = async (scopes: string[]) =>
      (await call<{ secret: string }>(base, 'POST', '/v1/admin/apps/scoped/secrets', { body: { scopes } }))
        .body.secret;
    const stats = await mk(['stats']);
    const admin = await mk(['admin']);
    expect((await info(base, 'scoped', stats)).status).toBe(200);
    const publish = (secret: string) =>
      call(base, 'POST', '/v1/apps/scoped/publish', { bearer: secret, body: { channel: 'news', data: 1 } });
    expect((await publish(stats)).status).toBe(401);
    expect((await publish(body.secret.secret)).status).toBe(200);
    expect(await connectError(base, body.key.key, stats, 'scoped')).toBe(ErrorCode.TOKEN_SIGNATURE.code);
    expect((await call(base, 'GET', '/v1/admin/apps/scoped/keys', { bearer: admin })).status).toBe(200);
    expect((await call(base, 'GET', '/v1/admin/apps/scoped-other/keys', { bearer: admin })).status).toBe(401);
    expect((await call(base, 'GET', '/v1/admin/apps', { bearer: admin })).status).toBe(401);
    void other;
  });

  it('validates and encrypts push credentials, and never returns them', async () => {
    await call(base, 'POST', '/v1/admin/apps', { body: { id: 'pushy' } });
    const { generateKeyPairSync } = await import('node:crypto');
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const apns = {
      key_p8: ec,
      key_id: 'ABCDE12345',
      team_id: 'TEAM123456',
      bundle_id: 'io.acme.app',
      environment: 'sandbox',
    };
    const put = await call(base, 'PUT', '/v1/admin/apps/pushy/push/apns', { body: apns });
    expect(put.status).toBe(200);
    expect(put.text).not.toContain('PRIVATE KEY');
    const bad = await call(base, 'PUT', '/v1/admin/apps/pushy/push/apns', { body: { ...apns, key_p8: rsa } });
    expect(bad.body).toMatchObject({ error: { name: 'bad_request' } });
    expect(bad.text).not.toContain('PRIVATE KEY');
    const sa = {
      type: 'service_account',
      project_id: 'acme-push',
      client_email: 'push@acme-push.iam.gserviceaccount.com',
      private_key: rsa,
    };
    expect(
      (await call(base, 'PUT', '/v1/admin/apps/pushy/push/fcm', { body: { service_account: sa } })).status,
    ).toBe(200);
    const badSa = await call(base, 'PUT', '/v1/admin/apps/pushy/push/fcm', {
      body: { service_account: { ...sa, private_key: ec.slice(0, 60) } },
    });
    expect(badSa.status).toBe(400);
    expect(badSa.text).not.toContain(ec.slice(30, 60));
    const listed = await call(base, 'GET', '/v1/admin/apps/pushy/push');
    expect(listed.body).toMatchObject({
      credentials: [
        { provider: 'apns', metadata: { keyId: 'ABCDE12345', environment: 'sandbox' } },
        { provider: 'fcm', metadata: { projectId: 'acme-push' } },
      ],
    });
    expect(listed.text).not.toContain('PRIVATE KEY');
    const hook = await call<{ signing_secret: string }>(base, 'POST', '/v1/admin/apps/pushy/webhooks', {
      body: { url: 'https://acme.io/hook', events: ['channel_occupied'] },
    });
    expect(hook.status).toBe(201);
    expect((await call(base, 'GET', '/v1/admin/apps/pushy/webhooks')).text).not.toContain(
      hook.body.signing_secret,
    );
  });

  it('meters usage per app and day', async () => {
    const { body } = await call<CreatedApp>(base, 'POST', '/v1/admin/apps', { body: { id: 'metered' } });
    const a = await connect(base, body.key.key, body.secret.secret, 'metered', 'u1');
    const b = await connect(base, body.key.key, body.secret.secret, 'metered', 'u2');
    await a.request({ cmd: 'subscribe', channel: 'news' });
    await b.request({ cmd: 'subscribe', channel: 'news' });
    for (let i = 0; i < 3; i++) {
      await call(base, 'POST', '/v1/apps/metered/publish', {
        bearer: body.secret.secret,
        body: { channel: 'news', data: i },
      });
    }
    await a.nextPubs('news', 3);
    await b.nextPubs('news', 3);
    const usage = await call<{ days: Record<string, number>[] }>(base, 'GET', '/v1/admin/apps/metered/usage');
    expect(usage.body.days).toEqual([
      expect.objectContaining({
        peak_connections: 2,
        messages_published: 3,
        messages_delivered: 6,
        pushes_sent: 0,
      }),
    ]);
    await a.close();
    await b.close();
  });

  it('mints development tokens without revealing the secret', async () => {
    const { body } = await call<CreatedApp>(base, 'POST', '/v1/admin/apps', { body: { id: 'minted' } });
    const minted = await call<{ token: string }>(base, 'POST', '/v1/admin/apps/minted/tokens', {
      body: { user: 'dev-user' },
    });
    expect(minted.text).not.toContain(body.secret.secret);
    const client = await TestClient.open(wsUrl(base, body.key.key));
    expect(await client.request({ cmd: 'connect', token: minted.body.token })).toMatchObject({
      user: 'dev-user',
    });
    await client.close();
  });

  it('keeps apps, keys, secrets and devices across a restart', async () => {
    const { body } = await call<CreatedApp>(base, 'POST', '/v1/admin/apps', { body: { id: 'durable' } });
    await node!.app
      .get<DeviceStore>(DEVICE_STORE)
      .registerDevice('durable', { platform: 'apns', token: 'device-1', userId: 'u1' });
    await node!.close();
    node = await startNode({
      role: 'standalone',
      module: (c) => StandaloneModule.forRoot(c),
      websocket: true,
      config: config(),
    });
    base = node.url;
    expect((await info(base, 'durable', body.secret.secret)).status).toBe(200);
    const client = await connect(base, body.key.key, body.secret.secret, 'durable');
    await client.close();
    const devices = await node.app.get<DeviceStore>(DEVICE_STORE).listDevices('durable', 'u1');
    expect(devices.map((d) => d.token)).toEqual(['device-1']);
  }, 60_000);
});

describe('config-file apps on the SQL store', () => {
  it('are imported at start, work, and are read-only through the admin API', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-e2e-file-'));
    const secret = randomBytes(30).toString('base64url');
    const config = nodeConfigSchema.parse(
      configInput({
        control: { driver: 'pglite', dataDir: dir },
        apps: [{ id: 'filed', keys: ['filed-key-1'], secrets: [secret] }],
      }),
    );
    const node = await startNode({
      role: 'standalone',
      module: (c) => StandaloneModule.forRoot(c),
      websocket: true,
      config,
    });
    try {
      expect((await info(node.url, 'filed', secret)).status).toBe(200);
      expect((await call(node.url, 'GET', '/v1/admin/apps/filed')).body).toMatchObject({
        managed_by: 'file',
      });
      const refused = await call(node.url, 'POST', '/v1/admin/apps/filed/disable');
      expect(refused.body).toMatchObject({ error: { name: 'permission_denied' } });
    } finally {
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

interface InProcessNode {
  url: string;
  app: NestExpressApplication;
  close(): Promise<void>;
}

/** A standalone node whose BUS is the given instance (the stand-in for a shared Kafka). */
async function startOnBus(config: NodeConfig, bus: MemoryBus): Promise<InProcessNode> {
  const moduleRef = await Test.createTestingModule({ imports: [StandaloneModule.forRoot(config)] })
    .overrideProvider(BUS)
    .useValue(bus)
    .compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ bufferLogs: true });
  app.useLogger(app.get(HeraldLogger));
  app.useWebSocketAdapter(new HeraldWsAdapter(app, config));
  configureHttp(app, config);
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    async close() {
      await app.get(SessionSupervisor).drain();
      await app.close();
    },
  };
}

describeWithService('postgres', 'two nodes sharing PostgreSQL and a bus', (serverUrl) => {
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  const bus = new MemoryBus();
  let a: InProcessNode;
  let b: InProcessNode;

  beforeAll(async () => {
    db = await createPostgresDatabase(serverUrl);
    const config = (n: string) =>
      nodeConfigSchema.parse(
        configInput({
          nodeId: n,
          // An hour: within this test only the bus can make node B see a change.
          control: { driver: 'postgres', postgresUrl: db.url, cacheTtlSeconds: 3600 },
        }),
      );
    const env = { HERALD_MASTER_KEY: Buffer.alloc(32, 3).toString('base64') };
    const saved = process.env['HERALD_MASTER_KEY'];
    process.env['HERALD_MASTER_KEY'] = env.HERALD_MASTER_KEY;
    try {
      a = await startOnBus(config('node-a'), bus);
      b = await startOnBus(config('node-b'), bus);
    } finally {
      if (saved === undefined) delete process.env['HERALD_MASTER_KEY'];
      else process.env['HERALD_MASTER_KEY'] = saved;
    }
  }, 60_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await bus.close();
    await db?.drop();
  });

  it('a revoked secret and a revoked key stop working on the other node', async () => {
    const { body } = await call<CreatedApp>(a.url, 'POST', '/v1/admin/apps', { body: { id: 'tenant' } });
    const s1 = body.secret.secret;
    expect((await info(b.url, 'tenant', s1)).status).toBe(200); // node B caches the app now
    const live = await connect(b.url, body.key.key, s1, 'tenant');

    const s2 = (await call<{ secret: string }>(a.url, 'POST', '/v1/admin/apps/tenant/secrets', { body: {} }))
      .body.secret;
    await call(a.url, 'DELETE', `/v1/admin/apps/tenant/secrets/${body.secret.record.id}`);
    await waitFor(async () => (await info(b.url, 'tenant', s1)).status === 401, {
      message: 'node B still accepts s1',
    });
    expect(await connectError(b.url, body.key.key, s1, 'tenant')).toBe(ErrorCode.TOKEN_SIGNATURE.code);
    expect((await info(b.url, 'tenant', s2)).status).toBe(200);
    // The connection opened with s1 stays up, but can no longer refresh with an s1 token.
    await expect(
      live.request({ cmd: 'refresh', token: signHs256(s1, { sub: 'u1', aud: 'tenant' }) }),
    ).rejects.toMatchObject({ code: ErrorCode.TOKEN_SIGNATURE.code });
    await live.request({ cmd: 'refresh', token: signHs256(s2, { sub: 'u1', aud: 'tenant' }) });

    const key2 = (await call<{ key: string }>(a.url, 'POST', '/v1/admin/apps/tenant/keys', { body: {} })).body
      .key;
    await call(a.url, 'DELETE', `/v1/admin/apps/tenant/keys/${body.key.key}`);
    const refused = await TestClient.open(wsUrl(b.url, body.key.key));
    expect((await refused.waitClosed()).code).toBe(DisconnectCode.UNKNOWN_APP.code);
    (await connect(b.url, key2, s2, 'tenant')).close();

    // Disabling on node A closes the connection on node B.
    await call(a.url, 'POST', '/v1/admin/apps/tenant/disable');
    expect((await live.waitClosed()).code).toBe(DisconnectCode.UNKNOWN_APP.code);
  });

  it('rotation: the old secret works on both nodes until it retires, then is refused with its code', async () => {
    const { body } = await call<CreatedApp>(a.url, 'POST', '/v1/admin/apps', { body: { id: 'rotating' } });
    const old = body.secret.secret;
    expect((await info(b.url, 'rotating', old)).status).toBe(200);
    const rotated = await call<{ secret: string; record: { id: string } }>(
      a.url,
      'POST',
      `/v1/admin/apps/rotating/secrets/${body.secret.record.id}/rotate`,
      { body: { grace_seconds: 2 } },
    );
    const next = rotated.body.secret;
    for (const node of [a, b]) {
      expect((await info(node.url, 'rotating', old)).status).toBe(200);
      expect((await info(node.url, 'rotating', next)).status).toBe(200);
      (await connect(node.url, body.key.key, old, 'rotating')).close();
    }
    // No message is sent when the grace period ends: the cached snapshot expires at the retirement.
    await waitFor(async () => (await info(b.url, 'rotating', old)).status === 401, { timeoutMs: 5000 });
    expect(await connectError(b.url, body.key.key, old, 'rotating')).toBe(ErrorCode.TOKEN_SIGNATURE.code);
    expect(await connectError(a.url, body.key.key, old, 'rotating')).toBe(ErrorCode.TOKEN_SIGNATURE.code);
    (await connect(b.url, body.key.key, next, 'rotating')).close();
  });

  it('two apps with identical channel names and user ids see nothing of each other', async () => {
    const one = (await call<CreatedApp>(a.url, 'POST', '/v1/admin/apps', { body: { id: 'twin-1' } })).body;
    const two = (await call<CreatedApp>(a.url, 'POST', '/v1/admin/apps', { body: { id: 'twin-2' } })).body;
    const c1 = await connect(b.url, one.key.key, one.secret.secret, 'twin-1', 'same-user');
    const c2 = await connect(b.url, two.key.key, two.secret.secret, 'twin-2', 'same-user');
    await c1.request({ cmd: 'subscribe', channel: 'room' });
    await c2.request({ cmd: 'subscribe', channel: 'room' });
    await call(a.url, 'POST', '/v1/apps/twin-1/publish', {
      bearer: one.secret.secret,
      body: { channel: 'room', data: 'for-1' },
    });
    await call(a.url, 'POST', '/v1/apps/twin-2/publish', {
      bearer: two.secret.secret,
      body: { channel: 'room', data: 'for-2' },
    });
    expect((await c1.nextPubs('room', 1))[0].data).toBe('for-1');
    expect((await c2.nextPubs('room', 1))[0].data).toBe('for-2');
    expect(c1.takePushes()).toEqual([]);
    // One app's secret is not a credential for the other, on either API.
    expect((await info(a.url, 'twin-2', one.secret.secret)).status).toBe(401);
    expect(await connectError(b.url, two.key.key, one.secret.secret, 'twin-2')).toBe(
      ErrorCode.TOKEN_SIGNATURE.code,
    );
    expect(
      (await call(a.url, 'DELETE', `/v1/admin/apps/twin-2/secrets/${one.secret.record.id}`)).status,
    ).toBe(404);
    await c1.close();
    await c2.close();
  });
});
