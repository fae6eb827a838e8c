import { DisconnectCode, type ConnectPush } from '@herald/protocol';
import {
  SseStream,
  describeWithService,
  isPub,
  poll,
  sessionCommands,
  progress,
  startCluster,
  uniqueId,
  type Cluster,
  type PubFrame,
  type PubOf,
  type TestClient,
} from '@herald/testing';

// api + two gateways as separate processes from dist/, on the shared Kafka and Redis (unique topic
// and key prefixes per run): what one publish, and the server API's commands, do across gateways,
// and HTTP session commands that land on the wrong gateway (docs/scaling.md).
// One user's messages consumed by a group while a member is killed and another joins are checked
// at the bus level: libs/bus/src/kafka/kafka.bus.spec.ts, "hands a killed member's uncommitted
// records, in order, to the member that joins".

describeWithService('kafka', 'cluster: api + two gateways', (kafka) => {
  describeWithService('redis', 'on Kafka and Redis', (redis) => {
    let cluster: Cluster;

    beforeAll(async () => {
      progress('cluster.e2e: starting api + 2 gateways');
      cluster = await startCluster({ kafka, redis });
    }, 60_000);

    afterAll(async () => {
      await cluster?.stop();
    }, 30_000);

    it('delivers publications through the api to clients on both gateways, in the same offset order', async () => {
      const { alpha } = cluster.apps;
      const [g1, g2] = cluster.gateways;
      const channel = `stream:${uniqueId('order')}`;
      const clients = [
        await cluster.connect(g1, alpha, 'order-a'),
        await cluster.connect(g1, alpha, 'order-b'),
        await cluster.connect(g2, alpha, 'order-c'),
        await cluster.connect(g2, alpha, 'order-d'),
      ];
      for (const c of clients) await c.request({ cmd: 'subscribe', channel });

      // Concurrent publishes: the api assigns offsets in whatever order the requests land, and every
      // gateway must deliver in offset order, whatever order Kafka hands the records over.
      const rest = cluster.rest(alpha);
      const total = 60;
      const results = await Promise.all(
        Array.from({ length: total }, (_, i) => rest.publish(channel, { i })),
      );
      const offsets = results.map((r) => r.offset ?? -1).sort((a, b) => a - b);
      expect(offsets).toEqual(Array.from({ length: total }, (_, i) => i + 1));

      const received: PubOf[][] = [];
      for (const c of clients) received.push(await c.nextPubs(channel, total, { timeoutMs: 15_000 }));
      for (const pubs of received) {
        expect(pubs.map((p) => p.offset)).toEqual(offsets);
        expect(pubs.map((p) => p.data)).toEqual(received[0].map((p) => p.data));
      }
    }, 60_000);

    it('carries unsubscribe, token revocation and disconnect from the api to every gateway', async () => {
      const { alpha } = cluster.apps;
      const [g1, g2] = cluster.gateways;
      const rest = cluster.rest(alpha);
      const channel = `chat:${uniqueId('ctl')}`;
      const user = uniqueId('ctl-user');
      const on1 = await cluster.connect(g1, alpha, user);
      const on2 = await cluster.connect(g2, alpha, user);
      for (const c of [on1, on2]) await c.request({ cmd: 'subscribe', channel });

      await rest.ok('POST', `/users/${user}/unsubscribe`, { body: { channel } });
      for (const c of [on1, on2]) await c.nextPush((p) => p.push === 'unsub' && p.channel === channel);

      await rest.ok('POST', `/users/${user}/revoke_tokens`, { body: {} });
      for (const c of [on1, on2]) expect((await c.waitClosed()).code).toBe(DisconnectCode.TOKEN_REVOKED.code);

      const other = uniqueId('kick');
      const kicked: TestClient[] = [
        await cluster.connect(g1, alpha, other),
        await cluster.connect(g2, alpha, other),
      ];
      await rest.ok('POST', `/users/${other}/disconnect`, { body: {} });
      for (const c of kicked) expect((await c.waitClosed()).code).toBe(DisconnectCode.FORCE_DISCONNECT.code);
    }, 30_000);

    it('forwards SSE session commands and long-polls that land on another gateway to the node holding the session', async () => {
      const { alpha } = cluster.apps;
      const [g1, g2] = cluster.gateways;
      const rest = cluster.rest(alpha);

      // SSE on g1; its commands POSTed to g2 reach g1, and the answer comes back through g2.
      const sseChannel = uniqueId('fwd-sse');
      const url = new URL('/connection/sse', g1.url);
      url.searchParams.set('key', alpha.key);
      url.searchParams.set('token', alpha.token('fwd-sse'));
      const stream = await SseStream.open(url.toString());
      try {
        const connect = await stream.connected();
        const sub = await sessionCommands(g2.url, connect.client, connect.session, [
          { id: 1, cmd: 'subscribe', channel: sseChannel },
        ]);
        expect(sub.status).toBe(200);
        expect(sub.frames).toEqual([{ id: 1, result: expect.objectContaining({ offset: 0 }) }]);
        await rest.publish(sseChannel, 'over sse');
        expect((await stream.pubs(sseChannel, 1))[0]).toEqual({ offset: 1, data: 'over sse' });
        // The owner still authorizes: a wrong credential is refused, through the forwarding node.
        const denied = await sessionCommands(g2.url, connect.client, `${connect.session}x`, [
          { id: 2, cmd: 'unsubscribe', channel: sseChannel },
        ]);
        expect(denied.status).toBe(401);
      } finally {
        await stream.kill();
      }

      // Long-poll session opened on g1; the next poll (cursor) goes to g2 and is held by g1.
      const pollChannel = uniqueId('fwd-poll');
      const opened = await poll(g1.url, {
        key: alpha.key,
        token: alpha.token('fwd-poll'),
        channels: pollChannel,
      });
      const connect = opened.body.events.find((f): f is ConnectPush => 'push' in f && f.push === 'connect');
      if (!connect || !opened.body.cursor) throw new Error(`no poll session: ${JSON.stringify(opened.body)}`);
      const auth = { authorization: `Bearer ${connect.session}` };
      const settled = await poll(g2.url, { key: alpha.key, cursor: opened.body.cursor, wait: '0' }, auth);
      // Forwarded: the same session answers (a non-owner would have opened a new one with a connect event).
      expect(settled.body.events).toEqual([]);
      const held = poll(g2.url, { key: alpha.key, cursor: settled.body.cursor ?? '' }, auth);
      await rest.publish(pollChannel, 'over poll');
      const answer = await held;
      expect(answer.body.events.filter(isPub(pollChannel)).map((f) => (f as PubFrame).pub)).toEqual([
        { offset: 1, data: 'over poll' },
      ]);

      // A session whose node is unknown is gone, as on one node.
      const gone = await sessionCommands(g2.url, 'zzzzzz-no-such-node', 'hs1:x:y', [
        { id: 1, cmd: 'presence' },
      ]);
      expect(gone.status).toBe(404);
    }, 30_000);
  });
});
