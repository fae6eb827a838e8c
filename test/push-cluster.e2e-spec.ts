/**
 * Push dispatch across real processes on real Kafka, Redis and PostgreSQL: an api enqueues a push
 * for a user with five devices, the push-dispatcher process is killed with SIGKILL while three of
 * the five sends hang at the provider, and a new dispatcher takes the job over (Kafka redelivers the
 * uncommitted record). Every device gets exactly one push: the two already sent are not sent again
 * (send records in Redis), the three cut off are sent once their claims expire.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createPostgresDatabase } from '@herald/control/testing';
import {
  FakeApnsServer,
  createTestCert,
  describeWithServices,
  progress,
  startCluster,
  type Cluster,
  type ClusterNode,
  type TestCert,
} from '@herald/testing';

const ADMIN_TOKEN = `adm_${randomBytes(24).toString('base64url')}`;
const MASTER_KEY = randomBytes(32).toString('base64');

async function call<T>(
  node: ClusterNode,
  method: string,
  path: string,
  auth: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${node.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${auth}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

describeWithServices(
  ['kafka', 'redis', 'postgres'],
  'push dispatcher killed mid-batch (api + push-dispatcher processes, Kafka, Redis, PostgreSQL)',
  ([kafka, redis, postgres]) => {
    let cluster: Cluster;
    let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
    let cert: TestCert;
    let apns: FakeApnsServer;

    beforeAll(async () => {
      db = await createPostgresDatabase(postgres);
      cert = createTestCert();
      apns = await new FakeApnsServer(cert).listen();
      cluster = await startCluster({
        kafka,
        redis,
        gateways: 0,
        node: {
          control: { driver: 'postgres', postgresUrl: db.url },
          admin: { token: ADMIN_TOKEN },
          push: {
            apnsEndpoint: apns.origin,
            caFile: cert.certFile,
            // Claims of a killed dispatcher expire after 2 x timeout + 5 s.
            requestTimeoutMilliseconds: 1000,
            backoffInitialMilliseconds: 100,
            backoffMaxMilliseconds: 1000,
          },
        },
        env: { HERALD_MASTER_KEY: MASTER_KEY },
      });
    }, 90_000);

    afterAll(async () => {
      await cluster?.stop();
      await apns?.close();
      cert?.dispose();
      await db?.drop();
    }, 60_000);

    it('sends each device exactly one push when a dispatcher dies mid-batch and another takes over', async () => {
      const first = await cluster.startNode('push-dispatcher');
      const created = await call<{ secret: { secret: string } }>(
        cluster.api,
        'POST',
        '/v1/admin/apps',
        ADMIN_TOKEN,
        {
          id: 'pushy',
        },
      );
      const secret = created.secret.secret;
      const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      apns.addKey(
        'TEAM000001',
        'KEY0000001',
        ec.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      );
      await call(cluster.api, 'PUT', '/v1/admin/apps/pushy/push/apns', ADMIN_TOKEN, {
        key_p8: ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        key_id: 'KEY0000001',
        team_id: 'TEAM000001',
        bundle_id: 'com.example.pushy',
        environment: 'sandbox',
      });
      const tokens = Array.from({ length: 5 }, () => randomBytes(32).toString('hex'));
      for (const token of tokens)
        await call(cluster.api, 'POST', '/v1/apps/pushy/users/crash/devices', secret, {
          platform: 'apns',
          token,
        });
      const hung = tokens.slice(2);
      for (const t of hung) apns.hold(t);

      const { message_id: id } = await call<{ message_id: string }>(
        cluster.api,
        'POST',
        '/v1/apps/pushy/users/crash/publish',
        secret,
        { data: { n: 1 }, push: { title: 'once', policy: 'always' } },
      );
      for (const t of tokens) await apns.arrivals.wait((a) => a.token === t, { timeoutMs: 30_000 });
      for (const t of tokens.slice(0, 2)) await apns.requests.wait((r) => r.token === t && r.status === 200);
      progress('two pushes sent, three hanging: killing the dispatcher');
      await first.kill('SIGKILL');
      for (const t of hung) apns.release(t);

      await cluster.startNode('push-dispatcher');
      progress('second dispatcher started; waiting for Kafka to hand it the job');
      for (const t of hung)
        await apns.requests.wait((r) => r.token === t && r.status === 200, { timeoutMs: 90_000 });

      for (const t of tokens) {
        const ok = apns.delivered(t);
        expect(ok).toHaveLength(1);
        expect(ok[0].payload?.['herald_message_id']).toBe(id);
      }
      // The two sent before the crash were never requested again.
      for (const t of tokens.slice(0, 2))
        expect(apns.arrivals.entries.filter((a) => a.token === t)).toHaveLength(1);
    }, 150_000);
  },
);
