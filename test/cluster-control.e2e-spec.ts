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

describeWithServices(
  ['kafka', 'redis', 'postgres'],
  'control plane across processes (api + 2 gateways, PostgreSQL, Kafka, Redis)',
  ([kafka, redis, postgres]) => {
    let cluster: Cluster;
    const tenant = (key: string, secret: string) => ({ id: 'tenant', key, secret });
    const connect = (node: ClusterNode, key: string, secret: string): Promise<TestClient> =>
      cluster.connect(node, tenant(key, secret), 'u1');

    /** The error code a connect gets, or the close code when the connection is refused at once. */
    async function refusal(node: ClusterNode, key: string, secret: string): Promise<number> {
      const client = await TestClient.open(cluster.wsUrl(node, tenant(key, secret)));
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

    beforeAll(async () => {
      cluster = await startCluster({
        kafka,
        redis,
        postgres,
        gateways: 2,
        // An hour of cache: only the bus can make a gateway see an admin change in this test.
        node: { control: { cacheTtlSeconds: 3600 } },
      });
    }, 90_000);

    afterAll(async () => {
      await cluster?.stop();
    }, 60_000);

    it('a revoked key and a revoked secret stop working on both gateway processes; disabling closes connections', async () => {
      const [g1, g2] = cluster.gateways;
      const created = await cluster.admin<{
        key: { key: string };
        secret: { secret: string; record: { id: string } };
      }>('POST', '/v1/admin/apps', { id: 'tenant' });
      const key1 = created.key.key;
      const s1 = created.secret.secret;
      const live = [await connect(g1, key1, s1), await connect(g2, key1, s1)];
      progress('tenant connected on both gateways');

      const key2 = (await cluster.admin<{ key: string }>('POST', '/v1/admin/apps/tenant/keys', {})).key;
      const s2 = (await cluster.admin<{ secret: string }>('POST', '/v1/admin/apps/tenant/secrets', {}))
        .secret;
      await cluster.admin('DELETE', `/v1/admin/apps/tenant/keys/${key1}`);
      await cluster.admin('DELETE', `/v1/admin/apps/tenant/secrets/${created.secret.record.id}`);

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

      await cluster.admin('POST', '/v1/admin/apps/tenant/disable');
      for (const c of live) expect((await c.waitClosed()).code).toBe(DisconnectCode.UNKNOWN_APP.code);
    }, 60_000);
  },
);
