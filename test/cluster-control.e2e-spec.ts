import { randomBytes } from 'node:crypto';
import { createPostgresDatabase } from '@herald/control/testing';
import { DisconnectCode, ErrorCode } from '@herald/protocol';
import {
  progress,
  ReplyError,
  describeWithServices,
  signHs256,
  startCluster,
  TestClient,
  waitFor,
  type Cluster,
  type ClusterNode,
} from '@herald/testing';

// The control plane across real processes: an api and two gateways on Kafka and Redis, sharing
// tenants in PostgreSQL. An admin change made through the api must reach both gateway processes
// (through the Kafka control topic), not only nodes that share a process.

const ADMIN_TOKEN = `adm_${randomBytes(24).toString('base64url')}`;
const MASTER_KEY = randomBytes(32).toString('base64');

async function admin<T>(node: ClusterNode, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${node.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

const wsUrl = (node: ClusterNode, key: string) =>
  `${node.url.replace(/^http/, 'ws')}/connection/websocket?key=${encodeURIComponent(key)}`;

async function connect(node: ClusterNode, key: string, secret: string): Promise<TestClient> {
  const client = await TestClient.open(wsUrl(node, key));
  await client.request({ cmd: 'connect', token: signHs256(secret, { sub: 'u1', aud: 'tenant' }) });
  return client;
}

/** The error code a connect gets, or the close code when the connection is refused at once. */
async function refusal(node: ClusterNode, key: string, secret: string): Promise<number> {
  const client = await TestClient.open(wsUrl(node, key));
  try {
    await client.request({ cmd: 'connect', token: signHs256(secret, { sub: 'u1', aud: 'tenant' }) });
    return 0;
  } catch (err) {
    if (err instanceof ReplyError) return err.code;
    return (await client.waitClosed()).code;
  } finally {
    await client.close();
  }
}

describeWithServices(
  ['kafka', 'redis', 'postgres'],
  'control plane across processes (api + 2 gateways, PostgreSQL, Kafka, Redis)',
  ([kafka, redis, postgres]) => {
    let cluster: Cluster;
    let db: Awaited<ReturnType<typeof createPostgresDatabase>>;

    beforeAll(async () => {
      db = await createPostgresDatabase(postgres);
      cluster = await startCluster({
        kafka,
        redis,
        gateways: 2,
        // An hour of cache: only the bus can make a gateway see an admin change in this test.
        node: {
          control: { driver: 'postgres', postgresUrl: db.url, cacheTtlSeconds: 3600 },
          admin: { token: ADMIN_TOKEN },
        },
        env: { HERALD_MASTER_KEY: MASTER_KEY },
      });
    }, 90_000);

    afterAll(async () => {
      await cluster?.stop();
      await db?.drop();
    }, 60_000);

    it('a revoked key and a revoked secret stop working on both gateway processes; disabling closes connections', async () => {
      const [g1, g2] = cluster.gateways;
      const created = await admin<{
        key: { key: string };
        secret: { secret: string; record: { id: string } };
      }>(cluster.api, 'POST', '/v1/admin/apps', { id: 'tenant' });
      const key1 = created.key.key;
      const s1 = created.secret.secret;
      const live = [await connect(g1, key1, s1), await connect(g2, key1, s1)];
      progress('tenant connected on both gateways');

      const key2 = (await admin<{ key: string }>(cluster.api, 'POST', '/v1/admin/apps/tenant/keys', {})).key;
      const s2 = (await admin<{ secret: string }>(cluster.api, 'POST', '/v1/admin/apps/tenant/secrets', {}))
        .secret;
      await admin(cluster.api, 'DELETE', `/v1/admin/apps/tenant/keys/${key1}`);
      await admin(cluster.api, 'DELETE', `/v1/admin/apps/tenant/secrets/${created.secret.record.id}`);

      for (const g of [g1, g2]) {
        await waitFor(async () => (await refusal(g, key1, s2)) === DisconnectCode.UNKNOWN_APP.code, {
          timeoutMs: 10_000,
          message: `${g.nodeId} still accepts the revoked key`,
        });
        expect(await refusal(g, key2, s1)).toBe(ErrorCode.TOKEN_SIGNATURE.code);
        (await connect(g, key2, s2)).close();
      }
      // Live connections opened with s1 can no longer refresh with it, on either gateway.
      for (const c of live) {
        await expect(
          c.request({ cmd: 'refresh', token: signHs256(s1, { sub: 'u1', aud: 'tenant' }) }),
        ).rejects.toMatchObject({ code: ErrorCode.TOKEN_SIGNATURE.code });
      }

      await admin(cluster.api, 'POST', '/v1/admin/apps/tenant/disable');
      for (const c of live) expect((await c.waitClosed()).code).toBe(DisconnectCode.UNKNOWN_APP.code);
    }, 60_000);
  },
);
