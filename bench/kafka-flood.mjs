// Kafka flood worker (cluster mode only): writes publication records straight into the run's
// publications topic, bypassing the api, at a fixed rate. It measures what the gateways pay for
// consuming the topic, independent of how fast one api process can publish on this machine.
// Driven by run.mjs over IPC:
//
//   → {type:'start', target, ctx}                                   connect the producer
//   ← {type:'connected'}
//   → {type:'run', rate, channels, startAt, t0, t1}                 one flood phase
//   ← {type:'done', produced, producedInWindow, bytesInWindow, failed, errors, skipped}
//   → {type:'stop'}
//
// Records are exactly what the api writes for a channel without history (the target's
// busRecord()): key `<app>:chan:<channel>`, header line + frame. `channels` is either
// {kind:'void', count}: channels void-0 … void-(count-1) that nobody subscribes to (the cost of a
// record a gateway decodes and drops), or {kind:'subscribed', channel}: the channel the
// subscribers hold (the payload carries ts/seq, so the load generators measure latency and loss).
//
// The schedule is drift-free: every TICK_MS the records due by then are sent in one produce
// request (acks=1, no idempotence: the flood measures the consumers, not the producer's
// guarantees), with at most MAX_INFLIGHT requests outstanding; a tick that finds that many still
// outstanding skips its records (counted, reported as a warning). Every loop is bounded by t1.

import kafkajs from 'kafkajs';
import { getTarget } from './targets/index.mjs';
import { makePayload, nowUs, sleepUntil } from './lib/common.mjs';

const TICK_MS = 5;
const MAX_INFLIGHT = 8;
const MAX_BATCH = 5000;

let target, ctx, kafka, producer;
let seq = 1e9; // far from the publisher's sequence numbers

process.on('message', async (msg) => {
  try {
    switch (msg.type) {
      case 'start': {
        ({ ctx } = msg);
        target = getTarget(msg.target);
        kafka = new kafkajs.Kafka({
          clientId: 'herald-bench-flood',
          brokers: ctx.brokers.split(','),
          logLevel: kafkajs.logLevel.ERROR,
        });
        producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
        await producer.connect();
        process.send({ type: 'connected' });
        break;
      }
      case 'run':
        process.send({ type: 'done', ...(await runFlood(msg)) });
        break;
      case 'stop':
        await producer?.disconnect().catch(() => undefined);
        process.disconnect();
        setTimeout(() => process.exit(0), 200).unref();
        break;
    }
  } catch (err) {
    console.error(`kafka-flood: ${err.stack ?? err}`);
    process.exit(1);
  }
});
process.on('disconnect', () => process.exit(0));

async function runFlood({ rate, channels, startAt, t0, t1 }) {
  const stats = { produced: 0, producedInWindow: 0, bytesInWindow: 0, failed: 0, skipped: 0, errors: [] };
  let inflight = 0;
  let k = 0; // records scheduled so far
  const tickUs = TICK_MS * 1000;
  const pending = new Set();
  await sleepUntil(startAt);
  for (let tick = 1; ; tick++) {
    const at = startAt + tick * tickUs;
    if (at > t1) break;
    await sleepUntil(at);
    const due = Math.min(MAX_BATCH, Math.floor(((at - startAt) / 1e6) * rate) - k);
    if (due <= 0) continue;
    if (inflight >= MAX_INFLIGHT) {
      stats.skipped += due;
      k += due;
      continue;
    }
    const ts = Math.floor(nowUs());
    const inWindow = ts >= t0 && ts < t1;
    let topic;
    let bytes = 0;
    const messages = new Array(due);
    for (let i = 0; i < due; i++) {
      const n = k + i;
      const channel = channels.kind === 'void' ? `void-${n % channels.count}` : channels.channel;
      const r = target.busRecord(ctx, channel, makePayload(++seq, ts));
      topic = r.topic;
      bytes += r.key.length + Buffer.byteLength(r.value);
      messages[i] = { key: r.key, value: r.value };
    }
    k += due;
    inflight++;
    const p = producer
      .send({ topic, acks: 1, messages })
      .then(() => {
        stats.produced += due;
        if (inWindow) {
          stats.producedInWindow += due;
          stats.bytesInWindow += bytes;
        }
      })
      .catch((err) => {
        stats.failed += due;
        if (stats.errors.length < 5) stats.errors.push(err.message);
      })
      .finally(() => {
        inflight--;
        pending.delete(p);
      });
    pending.add(p);
  }
  // Bounded wait for the last produce requests.
  await Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, 10_000))]);
  return stats;
}
