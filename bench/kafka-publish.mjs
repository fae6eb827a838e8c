// KafkaBus publish rate: how many `publish` calls the built bus completes per second against a real
// broker, with 1, 10 and 100 concurrent callers (200-byte records on 64 keys, 16 partitions, the
// bus's own settings: idempotent producer, acks=all, one request in flight). docs/scaling.md quotes it.
//
//   npm run build && npm run infra:up
//   node bench/kafka-publish.mjs            # broker from .infra/kafka.env, or HERALD_TEST_KAFKA_URL
//
// Each phase is bounded by its count (500 sequential, 5,000 concurrent publishes); the topic is new
// per run.
import { readFileSync } from 'node:fs';
import { KafkaBus } from '../dist/libs/bus/src/kafka/kafka.bus.js';

function broker() {
  if (process.env.HERALD_TEST_KAFKA_URL) return process.env.HERALD_TEST_KAFKA_URL;
  const env = readFileSync(new URL('../.infra/kafka.env', import.meta.url), 'utf8');
  const m = /HERALD_TEST_KAFKA_URL=(\S+)/.exec(env);
  if (!m) throw new Error('no Kafka address: run `npm run infra:up` first');
  return m[1];
}

const bus = new KafkaBus({ brokers: [broker()], partitions: 16, logLevel: 'error' });
const topic = `bench.publish.${Date.now()}`;
const value = Buffer.alloc(200);
await bus.publish(topic, 'warm-up', value);
for (const concurrency of [1, 10, 100]) {
  const n = concurrency === 1 ? 500 : 5000;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await bus.publish(topic, `k${next++ % 64}`, value);
    }),
  );
  const s = (performance.now() - t0) / 1000;
  console.log(`${concurrency} caller(s): ${n} publishes in ${s.toFixed(2)} s = ${Math.round(n / s)}/s`);
}
await bus.close();
