import { DisconnectCode } from '@herald/protocol';
import {
  describeWithService,
  progress,
  startCluster,
  TestClient,
  uniqueId,
  type Cluster,
  type PubOf,
} from '@herald/testing';

// Graceful drain under load, across real processes on the shared Kafka and Redis: a gateway
// holding many subscribers of a channel with history gets SIGTERM while publications flow.
// - readiness is false before the first client is told to go (the load balancer stops first);
// - new connections are refused with 3001 while draining;
// - sessions are closed with 3001 (reconnect) spread over the drain window, not all at once;
// - every client reconnects to the other gateway and recovers every publication it missed;
// - the process exits by itself, with status 0, well within the grace period the chart gives it
//   (terminationGracePeriodSeconds = preStop + drainSeconds + 15; no preStop here).

const DRAIN_SECONDS = 4;
const CLIENTS = 40;
/** What helm/herald computes for a pod without preStop sleep. */
const GRACE_MS = (DRAIN_SECONDS + 15) * 1000;

describeWithService('kafka', 'drain: SIGTERM on a loaded gateway', (kafka) => {
  describeWithService('redis', 'on Kafka and Redis', (redis) => {
    let cluster: Cluster;

    beforeAll(async () => {
      progress(`drain.e2e: starting api + 2 gateways (drain window ${DRAIN_SECONDS} s)`);
      cluster = await startCluster({ kafka, redis, node: { shutdown: { drainSeconds: DRAIN_SECONDS } } });
    }, 60_000);

    afterAll(async () => {
      await cluster?.stop();
    }, 30_000);

    it('goes unready first, spreads the 3001 closes over the window, every client recovers on the other gateway, exits 0 in time', async () => {
      const { alpha } = cluster.apps;
      const [draining, survivor] = cluster.gateways;
      const rest = cluster.rest(alpha);
      const stream = `stream:${uniqueId('drain')}`;

      const users = Array.from({ length: CLIENTS }, (_, i) => uniqueId(`drain-${i}`));
      const clients = await Promise.all(users.map((u) => cluster.connect(draining, alpha, u)));
      const subs = await Promise.all(clients.map((c) => c.request({ cmd: 'subscribe', channel: stream })));
      const epoch = subs[0].epoch ?? '';

      // Load: publications flow one after another (as one producer would) until the test stops them.
      let publishing = true;
      let lastOffset = 0;
      const publisher = (async () => {
        for (let i = 0; publishing; i++) {
          const r = await rest.publish(stream, { i });
          lastOffset = r.offset ?? lastOffset;
        }
      })();
      const initial = await Promise.all(clients.map((c) => c.nextPubs(stream, 10, { timeoutMs: 15_000 })));
      const seen = new Map<TestClient, PubOf[]>();

      // Each client, when told to go, records when, then moves to the survivor and recovers there.
      const moved = clients.map(async (client, i) => {
        const close = await client.closed;
        const closedAt = Date.now();
        const got: PubOf[] = [];
        for (const p of client.takePushes((p) => p.push === 'pub' && p.channel === stream)) {
          if (p.push === 'pub') got.push(p.pub);
        }
        seen.set(client, got);
        const last = [...initial[i], ...got].pop()?.offset ?? 0;
        const again = await cluster.connect(survivor, alpha, users[i]);
        const sub = await again.request({
          cmd: 'subscribe',
          channel: stream,
          recover: { offset: last, epoch },
        });
        return { close, closedAt, again, sub, last };
      });

      const signalledAt = Date.now();
      const exited = draining.process.exited.then((e) => ({ ...e, after: Date.now() - signalledAt }));
      // The first client told to go finds the node already unready (and refusing newcomers).
      const firstClose = Promise.race(clients.map((c) => c.closed)).then(async () => {
        const readyz = await fetch(`${draining.url}/readyz`);
        const newcomer = await TestClient.open(cluster.wsUrl(draining, alpha));
        return {
          readyz: readyz.status,
          body: (await readyz.json()) as unknown,
          refused: await newcomer.waitClosed(),
        };
      });
      draining.process.signal('SIGTERM');

      const first = await firstClose;
      expect(first.readyz).toBe(503);
      expect(first.body).toEqual({ status: 'draining' });
      expect(first.refused.code).toBe(DisconnectCode.SHUTDOWN.code);

      const results = await Promise.all(moved);
      for (const r of results) {
        expect(r.close.code).toBe(DisconnectCode.SHUTDOWN.code);
        expect(r.sub.recovered).toBe(true);
      }

      // Spread: closes cover most of the window, and no tenth of the window holds a storm.
      const times = results.map((r) => r.closedAt - signalledAt).sort((a, b) => a - b);
      const windowMs = DRAIN_SECONDS * 1000;
      const span = times[times.length - 1] - times[0];
      progress(`closes from +${times[0]} ms to +${times[times.length - 1]} ms (window ${windowMs} ms)`);
      expect(span).toBeGreaterThanOrEqual(windowMs * ((CLIENTS - 1) / CLIENTS) * 0.75);
      expect(span).toBeLessThanOrEqual(windowMs + 2000);
      const perTenth = new Map<number, number>();
      for (const t of times) {
        const slot = Math.floor(((t - times[0]) / windowMs) * 10);
        perTenth.set(slot, (perTenth.get(slot) ?? 0) + 1);
      }
      expect(Math.max(...perTenth.values())).toBeLessThanOrEqual(Math.ceil(CLIENTS / 10) * 2);

      const exit = await exited;
      progress(`${draining.nodeId} exited ${exit.code ?? exit.signal} after ${exit.after} ms`);
      expect(exit.code).toBe(0);
      expect(exit.after).toBeGreaterThanOrEqual(windowMs * ((CLIENTS - 1) / CLIENTS) * 0.75);
      expect(exit.after).toBeLessThan(GRACE_MS);

      // Nothing lost: every client has every offset, in order, exactly once (before + recovered + live).
      const live = await Promise.all(results.map((r) => r.again.nextPubs(stream, 3, { timeoutMs: 15_000 })));
      publishing = false;
      await publisher;
      await Promise.all(
        results.map(async (r, i) => {
          const after = [...(r.sub.publications ?? []), ...live[i]];
          while ((after[after.length - 1]?.offset ?? 0) < lastOffset) {
            after.push(...(await r.again.nextPubs(stream, 1, { timeoutMs: 15_000 })));
          }
          const before = [...initial[i], ...(seen.get(clients[i]) ?? [])];
          const offsets = [...before, ...after].map((p) => p.offset);
          expect(offsets).toEqual(Array.from({ length: lastOffset }, (_, k) => k + 1));
        }),
      );
      progress(`${CLIENTS} clients recovered offsets 1..${lastOffset} on ${survivor.nodeId}`);

      // The survivor's metrics show the moved connections and its Kafka consumer keeping up.
      const metrics = await (await fetch(`${survivor.url}/metrics`)).text();
      expect(metrics).toMatch(
        new RegExp(`herald_client_connections\\{app="${alpha.id}",transport="websocket"\\} ${CLIENTS}\\b`),
      );
      expect(metrics).toMatch(
        /herald_kafka_consumer_lag\{topic="[^"]*publications",partition="\d+",group="broadcast"\} \d+/,
      );
    }, 90_000);
  });
});
