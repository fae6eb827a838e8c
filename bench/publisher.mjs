// Publisher worker: publishes over the target's REST endpoint and holds one probe subscriber.
// Driven by run.mjs over IPC:
//
//   → {type:'start', target, ctx, port, probeIndex, localAddresses, probePort?}   connect the probe
//     (probePort: where the probe subscribes when it is not the publish port, e.g. a gateway
//     while publishes go to the api in cluster mode)
//   ← {type:'connected', …}
//   → {type:'run', mode, rate, startAt, t0, t1, window}             one publish phase
//   ← {type:'done', …}
//   → {type:'report'} ← {type:'report', …probe statistics}
//   → {type:'window', t0, t1}                                        reset the probe's window only
//   → {type:'stop'}
//
// Modes:
// - fixed: `rate` publications per second on a drift-free schedule (the k-th at startAt + k/rate),
//   each sent without waiting for earlier ones (up to MAX_INFLIGHT requests).
// - saturated: as fast as the server delivers. The probe subscribed last, so it is normally the
//   last socket of each fan-out; at most `window` publications may be ahead of what the probe
//   has received. This keeps the server busy without letting its queues grow without bound.
//
// Every payload is stamped (ts, integer µs on the monotonic clock) just before its request is
// written, so the measured latency includes the publish request itself.

import http from 'node:http';
import { getTarget } from './targets/index.mjs';
import { SubscriberPool } from './lib/subscribers.mjs';
import { makePayload, nowUs, sleepUntil } from './lib/common.mjs';

const MAX_INFLIGHT = 64;
const STALL_US = 1_000_000; // saturated: no probe progress this long → stop waiting for it

let target, ctx, port, probe, agent;
let seq = 0;

process.on('message', async (msg) => {
  switch (msg.type) {
    case 'start': {
      ({ ctx, port } = msg);
      target = getTarget(msg.target);
      agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      probe = new SubscriberPool({
        target,
        ctx,
        port: msg.probePort ?? port,
        firstIndex: msg.probeIndex,
        count: 1,
        localAddresses: msg.localAddresses,
        trackSeq: true,
      });
      await probe.connectAll();
      process.send({ type: 'connected', ...probe.report() });
      break;
    }
    case 'run':
      process.send({ type: 'done', ...(await runPhase(msg)) });
      break;
    case 'window': // the probe counts a window of publications sent by someone else (cluster flood)
      probe.setWindow(msg.t0, msg.t1);
      break;
    case 'report':
      process.send({ type: 'report', ...probe.report() });
      break;
    case 'stop':
      probe?.closeAll();
      agent?.destroy();
      process.disconnect();
      setTimeout(() => process.exit(0), 200).unref();
      break;
  }
});
process.on('disconnect', () => process.exit(0));

async function runPhase({ mode, rate, startAt, t0, t1, window }) {
  probe.setWindow(t0, t1);
  const { path, headers } = target.publish(ctx);
  const stats = { published: 0, publishedInWindow: 0, failed: 0, skipped: 0, stalls: 0, errors: [] };
  let inflight = 0;
  let wake = null; // resolves the saturated loop's wait
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  probe.onSeq = poke;

  const publishOne = () => {
    const ts = Math.floor(nowUs());
    const body = target.publishBody(makePayload(++seq, ts));
    inflight++;
    const done = (ok, err) => {
      inflight--;
      if (ok) {
        stats.published++;
        if (ts >= t0 && ts < t1) stats.publishedInWindow++;
      } else {
        stats.failed++;
        if (stats.errors.length < 5) stats.errors.push(err);
      }
      poke();
    };
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode < 300, `HTTP ${res.statusCode}`));
    });
    req.on('error', (err) => done(false, err.message));
    req.end(body);
  };

  await sleepUntil(startAt);
  if (mode === 'fixed') {
    const intervalUs = 1e6 / rate;
    for (let k = 0; ; k++) {
      const at = startAt + k * intervalUs;
      if (at >= t1) break;
      await sleepUntil(at);
      if (inflight >= MAX_INFLIGHT) stats.skipped++;
      else publishOne();
    }
  } else {
    probe.lastSeq = seq; // everything before this phase counts as received
    let lastProgress = nowUs();
    let lastSeen = probe.lastSeq;
    while (nowUs() < t1) {
      while (seq - probe.lastSeq < window && inflight < MAX_INFLIGHT) publishOne();
      await new Promise((resolve) => {
        wake = resolve;
        setTimeout(poke, 50);
      });
      if (probe.lastSeq !== lastSeen) {
        lastSeen = probe.lastSeq;
        lastProgress = nowUs();
      } else if (nowUs() - lastProgress > STALL_US) {
        stats.stalls++; // the probe missed a publication (or the server is stuck): move on
        probe.lastSeq = seq;
        lastProgress = nowUs();
      }
    }
  }
  // Let the last requests finish (bounded).
  const deadline = nowUs() + 10e6;
  while (inflight > 0 && nowUs() < deadline) {
    await new Promise((resolve) => {
      wake = resolve;
      setTimeout(poke, 50);
    });
  }
  probe.onSeq = null;
  return stats;
}
