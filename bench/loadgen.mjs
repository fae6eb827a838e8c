// Load generator worker: holds a share of the subscribers (at most ~5k connections, far below
// the 20,000 open files a process may hold here), spread over source addresses of its own
// (127.0.x.y, ≤ 1000 connections each; see run.mjs). Driven by run.mjs over IPC:
//
//   → {type:'start', target, ctx, port, firstIndex, count, localAddresses}
//   ← {type:'progress', subscribed, failed} … then {type:'connected', …}
//   → {type:'window', t0, t1}     reset counters for a measurement window
//   → {type:'report'}             ← {type:'report', …SubscriberPool.report()}
//   → {type:'stop'}               close every connection and exit

import { getTarget } from './targets/index.mjs';
import { SubscriberPool } from './lib/subscribers.mjs';

let pool = null;

process.on('message', async (msg) => {
  switch (msg.type) {
    case 'start': {
      pool = new SubscriberPool({ ...msg, target: getTarget(msg.target) });
      const timer = setInterval(
        () => process.send({ type: 'progress', subscribed: pool.subscribed, failed: pool.failed }),
        500,
      );
      await pool.connectAll();
      clearInterval(timer);
      process.send({ type: 'connected', ...pool.report() });
      break;
    }
    case 'window':
      pool.setWindow(msg.t0, msg.t1);
      break;
    case 'report':
      process.send({ type: 'report', ...pool.report() });
      break;
    case 'stop':
      pool?.closeAll();
      process.disconnect();
      setTimeout(() => process.exit(0), 200).unref();
      break;
  }
});

// The orchestrator going away must not leave subscribers behind.
process.on('disconnect', () => process.exit(0));
