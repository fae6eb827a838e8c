/**
 * Webhooks through a real standalone node (`npm start` composition): the core reports
 * subscriptions, presence and client publishes, events go over the bus to the dispatcher, and a
 * real receiver gets signed batches. Endpoints and the dead-letter routes go through the admin API.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeConfigSchema } from '@herald/config';
import { startNode, type RunningNode } from '@herald/runtime';
import { signHs256, TestClient } from '@herald/testing';
import { StandaloneModule } from '../apps/standalone/src/standalone.module.js';

const ADMIN = `adm_${randomBytes(24).toString('base64url')}`;

/** Independent Standard Webhooks check (no code shared with libs/webhooks). */
function verify(secret: string, h: IncomingHttpHeaders, body: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key)
    .update(`${String(h['webhook-id'])}.${String(h['webhook-timestamp'])}.${body}`)
    .digest();
  return String(h['webhook-signature'])
    .split(' ')
    .some((p) => {
      const got = Buffer.from(p.split(',')[1] ?? '', 'base64');
      return p.startsWith('v1,') && got.length === mac.length && timingSafeEqual(got, mac);
    });
}

async function call<T>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

interface Ev {
  name: string;
  channel?: string;
  user_id?: string;
  data?: unknown;
}

describe('webhooks through the standalone node', () => {
  let dir: string;
  let node: RunningNode;
  let receiver: Server;
  let hookUrl: string;
  const got: { app: string; events: Ev[]; valid: boolean }[] = [];
  const secrets = new Map<string, string>();
  let waiters: (() => void)[] = [];
  const until = async (pred: () => boolean) => {
    while (!pred()) await new Promise<void>((ok) => waiters.push(ok));
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-e2e-webhooks-'));
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const app = req.url?.split('/')[2] ?? '';
        got.push({
          app,
          events: (JSON.parse(body) as { events: Ev[] }).events,
          valid: verify(secrets.get(app) ?? '', req.headers, body),
        });
        res.writeHead(204).end();
        const w = waiters;
        waiters = [];
        w.forEach((f) => f());
      });
    });
    await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    node = await startNode({
      role: 'standalone',
      module: (c) => StandaloneModule.forRoot(c),
      websocket: true,
      config: nodeConfigSchema.parse({
        env: 'development',
        http: { host: '127.0.0.1', port: 0 },
        log: { level: 'silent' },
        shutdown: { drainSeconds: 1 },
        admin: { token: ADMIN },
        control: { driver: 'pglite', dataDir: join(dir, 'data') },
        // The receiver is on loopback: allow-listed here, refused by default.
        webhooks: { allowNetworks: ['127.0.0.1'], occupancyDebounceMilliseconds: 0 },
      }),
    });
  }, 60_000);

  afterAll(async () => {
    await node?.close();
    receiver.closeAllConnections();
    await new Promise<void>((ok) => receiver.close(() => ok()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function app(id: string): Promise<{ key: string; secret: string }> {
    const created = await call<{ key: { key: string }; secret: { secret: string } }>(
      node.url,
      'POST',
      '/v1/admin/apps',
      {
        id,
        namespaces: { chat: { presence: true, allowPublish: true } },
      },
    );
    expect(created.status).toBe(201);
    const hook = await call<{ signing_secret: string }>(node.url, 'POST', `/v1/admin/apps/${id}/webhooks`, {
      url: `${hookUrl.replace('/hook', '')}/app/${id}`,
      events: ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event'],
    });
    expect(hook.status).toBe(201);
    secrets.set(id, hook.body.signing_secret);
    return { key: created.body.key.key, secret: created.body.secret.secret };
  }

  it('occupied, member_added, client_event, member_removed, vacated: signed, in order, per app', async () => {
    const a = await app('wh-a');
    const b = await app('wh-b');
    const ws = node.url.replace(/^http/, 'ws');
    const client = await TestClient.open(`${ws}/connection/websocket?key=${a.key}`);
    await client.request({ cmd: 'connect', token: signHs256(a.secret, { sub: 'u1', aud: 'wh-a' }) });
    await client.request({ cmd: 'subscribe', channel: 'chat:room' });
    await client.request({ cmd: 'publish', channel: 'chat:room', data: { hello: 1 } });
    await client.request({ cmd: 'unsubscribe', channel: 'chat:room' });
    // The personal channel (a server-side subscription) has events of its own: look at chat:room.
    const names = () =>
      got
        .filter((g) => g.app === 'wh-a')
        .flatMap((g) => g.events.filter((e) => e.channel === 'chat:room').map((e) => e.name));
    await until(() => names().length >= 5);
    expect(names()).toEqual([
      'channel_occupied',
      'member_added',
      'client_event',
      'member_removed',
      'channel_vacated',
    ]);
    expect(got.every((g) => g.valid)).toBe(true);
    expect(got.some((g) => g.app === 'wh-b')).toBe(false);
    await client.close();
    void b;

    const dead = await call<{ dead_letters: unknown[] }>(
      node.url,
      'GET',
      '/v1/admin/apps/wh-a/webhooks/dead-letters',
    );
    expect(dead.status).toBe(200);
    expect(dead.body.dead_letters).toEqual([]);
    const replay = await call<{ replayed: number }>(
      node.url,
      'POST',
      '/v1/admin/apps/wh-a/webhooks/dead-letters/replay',
      {},
    );
    expect(replay.body).toEqual({ replayed: 0 });
  });
});
