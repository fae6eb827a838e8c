import type { Push } from '@herald/protocol';
import {
  RestClient,
  describeWithService,
  progress,
  startCluster,
  uniqueId,
  type Cluster,
  type PubOf,
} from '@herald/testing';

// Processes dying mid-flight, on the shared Kafka and Redis: a gateway killed with -9 while
// publications flow, and an api that dies between accepting a publish and answering it.
// Presence TTL 3 s, so a dead gateway's presence expires within the test.

const PRESENCE_TTL_S = 3;

describeWithService('kafka', 'cluster: processes killed mid-flight', (kafka) => {
  describeWithService('redis', 'on Kafka and Redis', (redis) => {
    let cluster: Cluster;

    beforeAll(async () => {
      progress('cluster-crash.e2e: starting api + 2 gateways (presence TTL 3 s)');
      cluster = await startCluster({ kafka, redis, node: { presence: { ttlSeconds: PRESENCE_TTL_S } } });
    }, 60_000);

    afterAll(async () => {
      await cluster?.stop();
    }, 30_000);

    it('kill -9 of a gateway mid-stream: its clients recover on the other with no gap and no duplicate; its presence expires and leave follows', async () => {
      const { alpha } = cluster.apps;
      const [victim, survivor] = cluster.gateways;
      const rest = cluster.rest(alpha);
      const stream = `stream:${uniqueId('kill')}`;
      const room = `chat:${uniqueId('room')}`;
      const user = uniqueId('mover');

      const watcher = await cluster.connect(survivor, alpha, uniqueId('watcher'));
      await watcher.request({ cmd: 'subscribe', channel: room });
      const mover = await cluster.connect(victim, alpha, user);
      await mover.request({ cmd: 'subscribe', channel: room });
      const { epoch } = await mover.request({ cmd: 'subscribe', channel: stream });
      await watcher.nextPush((p) => p.push === 'join' && p.channel === room && p.info.user === user);

      // Publications flow (one at a time, as one producer would) until the test stops them.
      let publishing = true;
      let lastOffset = 0;
      const publisher = (async () => {
        for (let i = 0; publishing; i++) {
          const r = await rest.publish(stream, { i });
          lastOffset = r.offset ?? lastOffset;
        }
      })();

      const before = await mover.nextPubs(stream, 20, { timeoutMs: 15_000 });
      const killedAt = Date.now();
      await victim.kill('SIGKILL');
      progress(`killed ${victim.nodeId} after offset ${before[before.length - 1].offset}`);
      await mover.waitClosed();
      const seen: PubOf[] = [...before];
      for (const p of mover.takePushes((p) => p.push === 'pub' && p.channel === stream)) {
        if (p.push === 'pub') seen.push(p.pub);
      }
      const last = seen[seen.length - 1];

      // The client reconnects to the surviving gateway and recovers from its last position.
      const again = await cluster.connect(survivor, alpha, user);
      const sub = await again.request({
        cmd: 'subscribe',
        channel: stream,
        recover: { offset: last.offset ?? 0, epoch: epoch ?? '' },
      });
      expect(sub.recovered).toBe(true);
      const after = [...(sub.publications ?? [])];
      // A few more live publications through the survivor, then stop and collect up to the end.
      after.push(...(await again.nextPubs(stream, 5, { timeoutMs: 15_000 })));
      publishing = false;
      await publisher;
      while ((after[after.length - 1]?.offset ?? 0) < lastOffset) {
        after.push(...(await again.nextPubs(stream, 1, { timeoutMs: 15_000 })));
      }
      const offsets = [...seen, ...after].map((p) => p.offset);
      expect(offsets).toEqual(Array.from({ length: lastOffset }, (_, i) => i + 1));
      progress(`recovered on ${survivor.nodeId}: offsets 1..${lastOffset}, no gap, no duplicate`);

      // The dead node's presence entries expire within the TTL and the survivor announces the leave.
      await watcher.nextPush((p: Push) => p.push === 'leave' && p.channel === room && p.info.user === user, {
        timeoutMs: (PRESENCE_TTL_S + 5) * 1000,
      });
      const elapsed = Date.now() - killedAt;
      progress(`leave of ${user} after ${elapsed} ms (TTL ${PRESENCE_TTL_S} s)`);
      // TTL plus one heartbeat/sweep period (1 s) plus delivery.
      expect(elapsed).toBeLessThan((PRESENCE_TTL_S + 2.5) * 1000);
      const presence = await rest.ok<{ members: { user: string }[] }>(
        'GET',
        `/channels/${encodeURIComponent(room)}/presence`,
      );
      expect(presence.members.map((m) => m.user)).not.toContain(user);
    }, 60_000);

    it('the api killed between accepting a publish and answering: the retry with the same idempotency key delivers exactly once', async () => {
      const { alpha } = cluster.apps;
      const channel = `stream:${uniqueId('crash')}`;
      const key = uniqueId('idem');
      const client = await cluster.connect(cluster.gateways[1], alpha, uniqueId('reader'));
      await client.request({ cmd: 'subscribe', channel });

      // A second api with the test-only hook: it exits right after the history append and the
      // idempotency checkpoint, before the bus and before answering.
      const doomed = await cluster.startNode('api', { env: { HERALD_TEST_CRASH_AFTER_APPEND: '1' } });
      const attempt = new RestClient(doomed.url, alpha.id, alpha.secret).publish(channel, 'once', {
        idempotencyKey: key,
      });
      await expect(attempt).rejects.toThrow();
      const exit = await doomed.process.exited;
      expect(exit.code).toBe(70);

      // The client retries against a healthy api with the same key: the stored result, sent once.
      const retried = await cluster.rest(alpha).publish(channel, 'once', { idempotencyKey: key });
      expect(retried.offset).toBe(1);
      const again = await cluster.rest(alpha).publish(channel, 'once', { idempotencyKey: key });
      expect(again).toEqual(retried);
      const pubs = await client.pubsBeforeSentinel(channel, (marker) =>
        cluster.rest(alpha).publish(channel, marker),
      );
      expect(pubs).toEqual([{ offset: 1, data: 'once' }]);
    }, 60_000);
  });
});
