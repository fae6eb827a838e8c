/**
 * Webhooks in cluster mode, as real processes: an api and two gateways (startCluster) plus
 * webhook-dispatcher processes started here, on the shared Kafka and Redis, with the tenants, the
 * endpoints and the delivery outbox in a fresh PostgreSQL database (`webhooks.store` auto: sql).
 * Gateways produce lifecycle events to `herald.events` (occupancy counted in Redis, so the first
 * and last subscriber across both gateways count); the dispatcher consumes them as a consumer
 * group and POSTs signed batches to real receivers here. Checked: cluster-wide debounced occupancy,
 * tenant isolation, a dispatcher killed with -9 mid-delivery while the receiver is down
 * (connection refused) and a replacement, 410 then dead letters listed and replayed through the api
 * (shared SQL store), and two dispatcher replicas on one outbox.
 *
 * Real time throughout (no manual clock across processes): the dispatcher's request timeout is
 * 1 s, so a lease lasts 3 s; backoff is capped at 1 s. A dispatcher killed with -9 stays a member
 * of the Kafka group until its session times out (30 s), so the replacement may take that long
 * to receive the partitions the dead one held: the waits below allow for it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPostgresDatabase } from '@herald/control/testing';
import {
  ManagedProcess,
  WebhookReceiver as Receiver,
  adminOk,
  describeWithServices,
  progress,
  signHs256,
  startCluster,
  waitFor,
  type Cluster,
  type ClusterNode,
  TestClient,
} from '@herald/testing';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ADMIN_TOKEN = `adm_${randomBytes(24).toString('base64url')}`;
const MASTER_KEY = randomBytes(32).toString('base64');
const DEBOUNCE_MS = 1500;
const WEBHOOKS = {
  allowNetworks: ['127.0.0.1'],
  requestTimeoutMilliseconds: 1000,
  backoffInitialMilliseconds: 200,
  backoffMaxMilliseconds: 1000,
  occupancyDebounceMilliseconds: DEBOUNCE_MS,
  batchSize: 5,
};
const EVENTS = ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event'];

/** Admin API call (libs/testing adminOk): throws on a non-2xx answer. */
const admin = <T>(node: ClusterNode, method: string, path: string, body?: unknown): Promise<T> =>
  adminOk<T>(node.url, ADMIN_TOKEN, method, path, body);

describeWithServices(
  ['kafka', 'redis', 'postgres'],
  'webhooks across processes (api, 2 gateways, webhook-dispatcher; Kafka, Redis, PostgreSQL)',
  ([kafka, redis, postgres]) => {
    let cluster: Cluster;
    let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
    let dir: string;
    let configFile: string;
    const dispatchers: ManagedProcess[] = [];
    const clients: TestClient[] = [];
    const receivers: Receiver[] = [];
    let counter = 0;

    /** A webhook-dispatcher process on the cluster's Kafka prefix and database. */
    async function startDispatcher(): Promise<{ proc: ManagedProcess; url: string }> {
      const nodeId = `${cluster.prefix}-webhook-dispatcher-${++counter}`;
      const env: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HERALD_')) env[k] = v;
      delete env['NODE_OPTIONS'];
      Object.assign(env, {
        NODE_NO_WARNINGS: '1',
        HERALD_CONFIG: configFile,
        HERALD_NODE_ID: nodeId,
        HERALD_MASTER_KEY: MASTER_KEY,
      });
      const proc = new ManagedProcess(
        nodeId,
        process.execPath,
        ['dist/apps/webhook-dispatcher/src/main.js'],
        env,
        ROOT,
      );
      dispatchers.push(proc);
      const line = await proc.waitForLine((l) => l.includes('"msg":"listening"'), 30_000, 'listening');
      const port = (JSON.parse(line) as { port: number }).port;
      progress(`${nodeId} listening on ${port} (pid ${proc.pid})`);
      return { proc, url: `http://127.0.0.1:${port}` };
    }

    async function tenant(id: string, receiver: Receiver, path: string) {
      const created = await admin<{ key: { key: string }; secret: { secret: string } }>(
        cluster.api,
        'POST',
        '/v1/admin/apps',
        { id, namespaces: { chat: { presence: true, allowPublish: true } } },
      );
      const hook = await admin<{ signing_secret: string; webhook: { id: string } }>(
        cluster.api,
        'POST',
        `/v1/admin/apps/${id}/webhooks`,
        { url: receiver.url(path), events: EVENTS, channel_prefixes: ['chat:'] },
      );
      receiver.secret = hook.signing_secret;
      return { id, key: created.key.key, secret: created.secret.secret, webhook: hook.webhook.id };
    }

    async function connect(node: ClusterNode, t: { id: string; key: string; secret: string }, user: string) {
      const client = await TestClient.open(
        `${node.url.replace(/^http/, 'ws')}/connection/websocket?key=${encodeURIComponent(t.key)}`,
      );
      clients.push(client);
      await client.request({ cmd: 'connect', token: signHs256(t.secret, { sub: user, aud: t.id }) });
      return client;
    }

    beforeAll(async () => {
      db = await createPostgresDatabase(postgres);
      cluster = await startCluster({
        kafka,
        redis,
        gateways: 2,
        node: {
          control: { driver: 'postgres', postgresUrl: db.url },
          admin: { token: ADMIN_TOKEN },
          webhooks: WEBHOOKS,
        },
        env: { HERALD_MASTER_KEY: MASTER_KEY },
      });
      dir = mkdtempSync(join(tmpdir(), 'herald-webhooks-cluster-'));
      configFile = join(dir, 'dispatcher.json');
      writeFileSync(
        configFile,
        JSON.stringify({
          env: 'development',
          http: { host: '127.0.0.1', port: 0 },
          log: { level: 'info' },
          shutdown: { drainSeconds: 1 },
          drivers: { bus: 'kafka', presence: 'redis', history: 'redis', state: 'redis' },
          kafka: {
            brokers: kafka.split(','),
            topicPrefix: `${cluster.prefix}.`,
            partitions: 4,
            replicationFactor: 1,
          },
          redis: { url: redis, keyPrefix: `${cluster.prefix}:` },
          control: { driver: 'postgres', postgresUrl: db.url },
          webhooks: WEBHOOKS,
        }),
      );
    }, 120_000);

    afterAll(async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await Promise.all(
        dispatchers
          .filter((d) => d.running)
          .map((d) => d.kill('SIGTERM', 10_000).catch(() => d.kill('SIGKILL'))),
      );
      await cluster?.stop();
      for (const r of receivers) await r.down();
      await db?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    it('occupancy is cluster-wide and debounced; app B never sees app A; a killed dispatcher is replaced without duplicates or loss', async () => {
      const ra = new Receiver();
      const rb = new Receiver();
      receivers.push(ra, rb);
      await ra.start();
      await rb.start();
      const a = await tenant('whc-a', ra, '/a');
      const b = await tenant('whc-b', rb, '/b');
      let d1 = await startDispatcher();
      const [g1, g2] = cluster.gateways;
      const room = 'chat:room';
      const names = (r: Receiver, channel: string) =>
        r
          .events()
          .filter((e) => e.channel === channel)
          .map((e) => `${e.name}${e.user_id && e.name.startsWith('member') ? `:${e.user_id}` : ''}`);
      const wait = (r: Receiver, channel: string, expected: string[], ms = 45_000) =>
        r.until(
          () => names(r, channel).length >= expected.length,
          `${expected.join(', ')} on ${channel}`,
          ms,
        );

      // --- first and last subscriber across two gateways --------------------------------------
      const a1 = await connect(g1, a, 'u1');
      await a1.request({ cmd: 'subscribe', channel: room });
      await wait(ra, room, ['channel_occupied', 'member_added:u1']);
      const a2 = await connect(g2, a, 'u2');
      await a2.request({ cmd: 'subscribe', channel: room });
      await wait(ra, room, ['channel_occupied', 'member_added:u1', 'member_added:u2']);
      // Another app's subscriber on the same channel name: its own events, to its own receiver.
      const b1 = await connect(g2, b, 'u9');
      await b1.request({ cmd: 'subscribe', channel: room });
      await wait(rb, room, ['channel_occupied', 'member_added:u9']);

      // u1 moves from g1 to g2 within the debounce window: no member_removed/added pair for u1.
      await a1.close();
      const a1b = await connect(g2, a, 'u1');
      await a1b.request({ cmd: 'subscribe', channel: room });
      // Time is the event here: the window must pass before "nothing was sent" means anything.
      await new Promise((ok) => setTimeout(ok, DEBOUNCE_MS + 1000));
      await a1b.request({ cmd: 'publish', channel: room, data: { marker: 'after-window' } });
      await wait(ra, room, ['channel_occupied', 'member_added:u1', 'member_added:u2', 'client_event']);
      expect(names(ra, room)).toEqual([
        'channel_occupied',
        'member_added:u1',
        'member_added:u2',
        'client_event',
      ]);

      await a2.request({ cmd: 'unsubscribe', channel: room });
      await a1b.request({ cmd: 'unsubscribe', channel: room });
      const final = [
        'channel_occupied',
        'member_added:u1',
        'member_added:u2',
        'client_event',
        'member_removed:u2',
        'member_removed:u1',
        'channel_vacated',
      ];
      await wait(ra, room, final);
      expect(names(ra, room).filter((n) => n === 'channel_occupied' || n === 'channel_vacated')).toEqual([
        'channel_occupied',
        'channel_vacated',
      ]);
      expect([...names(ra, room)].sort()).toEqual([...final].sort());
      progress('occupancy across gateways: one occupied, one vacated, no pair for a quick move');

      // --- the dispatcher killed mid-delivery, the receiver down, a replacement ----------------
      const stream = 'chat:stream';
      ra.mode = 'hold';
      const writer = await connect(g1, a, 'w1');
      await writer.request({ cmd: 'subscribe', channel: stream });
      for (let i = 0; i < 10; i++)
        await writer.request({ cmd: 'publish', channel: stream, data: { seq: i } });
      await ra.until(() => ra.held.length >= 1, 'a delivery to hold', 30_000);
      const cut = ra.all[ra.all.length - 1].id;
      await d1.proc.kill('SIGKILL');
      progress(`killed ${d1.proc.name} with a delivery (${cut}) in flight`);
      for (const res of ra.held.splice(0)) res.destroy();
      const port = ra.port;
      await ra.down(); // connection refused from here on
      ra.mode = 'ok';
      for (let i = 10; i < 20; i++)
        await writer.request({ cmd: 'publish', channel: stream, data: { seq: i } });
      d1 = await startDispatcher();
      // The replacement meets the refused connection (its lease on the cut batch ran out) ...
      await waitFor(
        async () => {
          const text = await (await fetch(`${d1.url}/metrics`)).text();
          return /herald_webhook_deliveries_total\{app="whc-a",outcome="retried"\} [1-9]/.test(text);
        },
        { timeoutMs: 60_000, intervalMs: 200, message: 'a refused attempt by the replacement dispatcher' },
      );
      // ... and delivers everything once the receiver is back.
      await ra.start(port);
      const seqs = () =>
        ra
          .events()
          .filter((e) => e.channel === stream && e.name === 'client_event')
          .map((e) => (e.data as { seq: number }).seq);
      await ra.until(() => seqs().length >= 20, '20 client events on the stream', 60_000);
      expect(seqs()).toEqual([...Array(20).keys()]);
      // The cut batch was resent under the same webhook-id, and no event came under two ids.
      expect(ra.all.filter((r) => r.id === cut).length).toBeGreaterThanOrEqual(2);
      const ids = ra.events().map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ra.all.every((r) => r.valid)).toBe(true);
      expect(rb.all.every((r) => r.valid)).toBe(true);
      expect(rb.events().every((e) => e.channel === room)).toBe(true);
      expect(ra.events().some((e) => e.user_id === 'u9')).toBe(false);
      progress('replacement dispatcher: 20 events once, in order, cut batch resent under its webhook-id');

      // --- 410 disables; the api lists the dead letters from the shared store and replays them -
      rb.mode = 'e410';
      await b1.request({ cmd: 'publish', channel: room, data: { n: 'gone' } });
      await rb.until(
        () => rb.all.some((r) => r.events.some((e) => e.name === 'client_event')),
        'an attempt answered 410',
        30_000,
      );
      await waitFor(
        async () =>
          (
            await admin<{ dead_letters: { reason: string }[] }>(
              cluster.api,
              'GET',
              `/v1/admin/apps/${b.id}/webhooks/dead-letters`,
            )
          ).dead_letters.some((d) => d.reason === 'gone'),
        { timeoutMs: 20_000, intervalMs: 200, message: 'the 410 dead letter, seen through the api' },
      );
      rb.mode = 'ok';
      await admin(cluster.api, 'PATCH', `/v1/admin/apps/${b.id}/webhooks/${b.webhook}`, { enabled: true });
      const replayed = await admin<{ replayed: number }>(
        cluster.api,
        'POST',
        `/v1/admin/apps/${b.id}/webhooks/dead-letters/replay`,
        {},
      );
      expect(replayed.replayed).toBeGreaterThanOrEqual(1);
      await rb.until(
        () => rb.events().some((e) => e.name === 'client_event' && (e.data as { n?: string }).n === 'gone'),
        'the replayed event',
        30_000,
      );
      expect(ra.events().some((e) => (e.data as { n?: string } | undefined)?.n === 'gone')).toBe(false);
      progress('410 disabled the endpoint; dead letter listed and replayed through the api');

      // --- two dispatcher replicas on one outbox: still once, in order per channel ------------
      await startDispatcher();
      const before = ra.events().length;
      const channels = ['chat:p0', 'chat:p1', 'chat:p2'];
      for (const c of channels) await writer.request({ cmd: 'subscribe', channel: c });
      for (let i = 0; i < 30; i++)
        await writer.request({ cmd: 'publish', channel: channels[i % 3], data: { seq: i } });
      const perChannel = (c: string) =>
        ra
          .events()
          .slice(before)
          .filter((e) => e.channel === c && e.name === 'client_event')
          .map((e) => (e.data as { seq: number }).seq);
      await ra.until(
        () => channels.every((c) => perChannel(c).length >= 10),
        '30 client events with two dispatchers',
        60_000,
      );
      for (const [k, c] of channels.entries())
        expect(perChannel(c)).toEqual(Array.from({ length: 10 }, (_, i) => i * 3 + k));
      const all = ra.events().map((e) => e.id);
      expect(new Set(all).size).toBe(all.length);
      progress('two dispatcher replicas: every event once, in order per channel');
    }, 240_000);
  },
);
