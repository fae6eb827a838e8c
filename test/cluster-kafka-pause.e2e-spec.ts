import {
  KafkaInstance,
  describeWithService,
  progress,
  startCluster,
  uniqueId,
  waitFor,
  type Cluster,
} from '@herald/testing';

// Kafka frozen with SIGSTOP for 30 s under a running cluster, then SIGCONT. The suite starts its
// OWN broker (KafkaInstance, `scripts/infra/kafka.sh up-instance`), so the shared broker other
// suites use is never paused; Redis is the shared server.
//
// While Kafka is frozen, every publish answers 503 with Retry-After within a bound (the bus's
// publish deadline), never 200, and the api's memory stays bounded. After SIGCONT the publishes
// that were refused are retried with their idempotency keys (as a client honouring Retry-After
// does): the subscriber gets every acknowledged message once, in offset order.

const PAUSE_MS = 30_000;
/** The bus gives up after 5 s (kafka publishTimeoutMs); the answer must come soon after. */
const ANSWER_BOUND_MS = 8_000;
const BATCH = 50;
/** Growth of the api's resident memory allowed while Kafka is frozen. */
const RSS_BOUND_BYTES = 100 * 1024 * 1024;

describeWithService('redis', 'cluster: Kafka paused with SIGSTOP', (redis) => {
  let broker: KafkaInstance;
  let cluster: Cluster;

  beforeAll(async () => {
    progress('cluster-kafka-pause.e2e: starting a private Kafka (JVM, ~10 s), api + 1 gateway');
    broker = await KafkaInstance.start();
    cluster = await startCluster({ kafka: broker.brokers, redis, gateways: 1 });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    await broker?.destroy();
  }, 60_000);

  it('answers 503 with Retry-After within a bound while Kafka is frozen, stays bounded in memory, and loses nothing acknowledged once it resumes', async () => {
    const { alpha } = cluster.apps;
    const rest = cluster.rest(alpha);
    const channel = `stream:${uniqueId('pause')}`;
    const reader = await cluster.connect(cluster.gateways[0], alpha, uniqueId('reader'));
    await reader.request({ cmd: 'subscribe', channel });

    const acknowledged = new Map<string, number>();
    for (let i = 0; i < 5; i++) {
      const key = uniqueId('before');
      acknowledged.set(key, (await rest.publish(channel, key, { idempotencyKey: key })).offset ?? -1);
    }
    await reader.nextPubs(channel, 5);

    const rssBefore = cluster.api.process.rssBytes() ?? 0;
    broker.pause();
    const pausedAt = Date.now();
    progress(`Kafka ${broker.pid} stopped (SIGSTOP)`);
    const refused: string[] = [];
    let maxRss = rssBefore;
    let slowest = 0;
    try {
      while (Date.now() - pausedAt < PAUSE_MS - ANSWER_BOUND_MS) {
        await Promise.all(
          Array.from({ length: BATCH }, async () => {
            const key = uniqueId('during');
            const started = Date.now();
            const r = await rest.call('POST', '/publish', {
              body: { channel, data: key, idempotency_key: key },
            });
            slowest = Math.max(slowest, Date.now() - started);
            expect(r.status).toBe(503);
            expect(r.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
            refused.push(key);
          }),
        );
        maxRss = Math.max(maxRss, cluster.api.process.rssBytes() ?? 0);
      }
      progress(
        `${refused.length} publishes refused with 503 while frozen; slowest answer ${slowest} ms; ` +
          `api RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> max ${(maxRss / 2 ** 20).toFixed(0)} MiB`,
      );
      expect(slowest).toBeLessThan(ANSWER_BOUND_MS);
      expect(maxRss - rssBefore).toBeLessThan(RSS_BOUND_BYTES);
      // The rest of the 30 s: the pause itself is what the test waits for.
      const left = PAUSE_MS - (Date.now() - pausedAt);
      if (left > 0) await new Promise<void>((resolve) => setTimeout(resolve, left));
    } finally {
      broker.resume();
    }
    progress('Kafka resumed (SIGCONT)');

    // Kafka is back once a publish is acknowledged again; the probe keeps one idempotency key,
    // so however many attempts it takes, it is one message.
    const probe = uniqueId('probe');
    await waitFor(
      async () => {
        const r = await rest.call<{ offset?: number }>('POST', '/publish', {
          body: { channel, data: probe, idempotency_key: probe },
        });
        if (r.status === 200) acknowledged.set(probe, r.body.offset ?? -1);
        else expect(r.status).toBe(503);
        return r.status === 200;
      },
      { timeoutMs: 60_000, intervalMs: 250, message: 'publishing works again after SIGCONT' },
    );
    progress(`publishing works again ${Date.now() - pausedAt - PAUSE_MS} ms after SIGCONT`);

    // Clients retry what was refused, with the same keys: each is one message, whatever the
    // frozen attempt left behind (its history append, a record Kafka took after resuming).
    for (let i = 0; i < refused.length; i += BATCH) {
      await Promise.all(
        refused.slice(i, i + BATCH).map(async (key) => {
          const r = await rest.publish(channel, key, { idempotencyKey: key });
          acknowledged.set(key, r.offset ?? -1);
        }),
      );
    }

    const offsets = [...acknowledged.values()].sort((a, b) => a - b);
    expect(new Set(offsets).size).toBe(acknowledged.size);
    // Everything after the first five (already taken) up to the sentinel, in offset order, once each.
    const pubs = await reader.pubsBeforeSentinel(channel, (marker) => rest.publish(channel, marker), {
      timeoutMs: 30_000,
    });
    const delivered = pubs.map((p) => p.offset ?? -1);
    expect(delivered).toEqual([...delivered].sort((a, b) => a - b));
    expect(new Set(delivered).size).toBe(delivered.length);
    expect(delivered).toEqual(offsets.filter((o) => o > 5));
    const byOffset = new Map([...acknowledged].map(([key, offset]) => [offset, key]));
    for (const p of pubs) expect(p.data).toBe(byOffset.get(p.offset ?? -1));
  }, 180_000);
});
