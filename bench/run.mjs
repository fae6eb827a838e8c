#!/usr/bin/env node
// Herald benchmark orchestrator (`npm run bench`; method and results in docs/benchmarks.md).
//
// For every target (ref-naive, ref-framed, herald) and subscriber count (1k, 10k) it:
//   1. starts the server pinned to core 0 and waits for its ready line (the server picks its port);
//   2. measures idle memory: RSS after a forced GC before and after all subscribers connected;
//   3. connects the subscribers from load-generator processes pinned to core 1 (≤ 5k per process,
//      each from its own source address 127.0.0.2, .3, …) plus the publisher's probe subscriber;
//   4. runs two publish phases, each a warm-up then a measured window:
//      fixed     — 50,000 deliveries/s offered (50,000 / subscribers publications per second),
//      saturated — as fast as the server delivers (bounded in-flight window);
//   5. reports deliveries/s, server CPU per delivery, publish-to-deliver latency percentiles,
//      delivered %, and the load generators' own CPU (a warning if they may be the bottleneck).
//
// Flags: --quick (1k subscribers, short phases), --targets a,b,c, --subs 1000,10000,
//        --warmup S, --measure S, --per-proc N, --offered N (deliveries/s), --window N (deliveries
//        in flight when saturated), --nice N (run the benchmark processes at priority -N, root
//        only: on a shared machine, keeps other work from disturbing the server core).
//
// Cluster mode (--cluster, or --targets herald-cluster; see docs/scaling.md): one api process takes
// the publishes and --gateways N (default 2) gateway processes hold the subscribers, split evenly,
// on Kafka + Redis (scripts/infra.sh up), with a topic and key prefix of their own per run. Same
// phases and figures, plus per-process CPU (api, each gateway, the Kafka JVM, redis-server), and
// flood phases (--flood void:R,subscribed:R,… or none) in which bench/kafka-flood.mjs writes R
// records/s straight into the publications topic: `void` to channels nobody subscribes to (the
// per-record cost of a gateway reading every partition), `subscribed` to the benchmark channel.
//        Every loop and wait below is bounded in count or time.

import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { getTarget } from './targets/index.mjs';
import {
  Histogram,
  coreSeconds,
  cpuSeconds,
  listeningPorts,
  nowUs,
  readBytes,
  rssBytes,
  sleep,
  sleepUntil,
} from './lib/common.mjs';

const benchDir = fileURLToPath(new URL('.', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    targets: { type: 'string' },
    cluster: { type: 'boolean', default: false },
    gateways: { type: 'string', default: '2' },
    flood: { type: 'string' },
    subs: { type: 'string' },
    warmup: { type: 'string' },
    measure: { type: 'string' },
    'per-proc': { type: 'string', default: '5000' },
    offered: { type: 'string', default: '50000' },
    window: { type: 'string', default: '40000' },
    nice: { type: 'string', default: '0' },
  },
});

const opts = {
  targets: (flags.targets ?? (flags.cluster ? 'herald-cluster' : 'ref-naive,ref-framed,herald'))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
  subs: (flags.subs ?? (flags.quick ? '1000' : '1000,10000')).split(',').map(Number),
  warmupS: Number(flags.warmup ?? (flags.quick ? 1 : 2)),
  measureS: Number(flags.measure ?? (flags.quick ? 3 : 10)),
  perProc: Number(flags['per-proc']),
  offered: Number(flags.offered),
  windowDeliveries: Number(flags.window),
  idleS: flags.quick ? 2 : 3,
  nice: Number(flags.nice),
  gateways: Number(flags.gateways),
  flood: parseFlood(flags.flood ?? 'void:100,void:5000,void:20000'),
};
if (!(Number.isInteger(opts.gateways) && opts.gateways >= 1 && opts.gateways <= 8))
  throw new Error('--gateways must be 1..8');

/** --flood void:5000,subscribed:2000 → [{kind, rate}]; `none` → []. void:0 measures idle consumers. */
function parseFlood(spec) {
  if (spec.trim() === 'none') return [];
  return spec.split(',').map((item) => {
    const m = /^(void|subscribed):(\d+)$/.exec(item.trim());
    if (!m || !(Number(m[2]) >= 0 && Number(m[2]) <= 500_000))
      throw new Error(`bad --flood item "${item}" (void:<records/s> or subscribed:<records/s>, ≤ 500000)`);
    return { kind: m[1], rate: Number(m[2]) };
  });
}
for (const name of opts.targets) getTarget(name); // fail fast on a typo
if (opts.subs.some((n) => !Number.isInteger(n) || n < 2 || n > 100_000)) throw new Error('bad --subs');
if (!(opts.perProc >= 100 && opts.perProc <= 15_000)) throw new Error('--per-proc must be 100..15000');
if (!(Number.isInteger(opts.nice) && opts.nice >= 0 && opts.nice <= 19))
  throw new Error('--nice must be 0..19');

// ---------------------------------------------------------------------------------------------
// Machine and CPU pinning
// ---------------------------------------------------------------------------------------------

const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    return os.cpus().length >= 2;
  } catch {
    return false;
  }
})();
const SERVER_CORE = '0';
const LOADGEN_CORE = '1';

/**
 * Command + args that run `node <nodeArgs…>` on the given core (unpinned without taskset), with
 * a raised scheduling priority when --nice N is given. nice and taskset exec the next program,
 * so the child's pid is node's pid (what /proc is read for).
 */
function nodeCommand(core, nodeArgs) {
  let cmd = [process.execPath, ...nodeArgs];
  if (hasTaskset) cmd = ['taskset', '-c', core, ...cmd];
  if (opts.nice) cmd = ['nice', '-n', String(-opts.nice), ...cmd];
  return [cmd[0], cmd.slice(1)];
}

function machineInfo() {
  const lscpu = (() => {
    try {
      return /^Model name:\s*(.+)$/m.exec(execFileSync('lscpu', { encoding: 'utf8' }))?.[1];
    } catch {
      return undefined;
    }
  })();
  const osRelease = (() => {
    try {
      return /^PRETTY_NAME="?([^"\n]+)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    } catch {
      return undefined;
    }
  })();
  return {
    cpus: os.cpus().length,
    cpuModel: lscpu ?? os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: osRelease ?? os.type(),
    kernel: os.release(),
    node: process.version,
    pinned: hasTaskset
      ? `server on core ${SERVER_CORE}; load generators, publisher and orchestrator on core ${LOADGEN_CORE}`
      : 'unpinned (taskset unavailable or a single core): servers and load generators share the CPUs',
  };
}

// ---------------------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------------------

const children = new Set(); // every process we started, killed by pid on exit

/** A load-generator or publisher process on the load-generator core, spoken to over IPC. */
function spawnWorker(script) {
  const [cmd, args] = nodeCommand(LOADGEN_CORE, [`${benchDir}${script}`]);
  const proc = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  const waiters = [];
  proc.on('message', (msg) => {
    const i = waiters.findIndex((w) => w.type === msg.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(msg);
    else if (msg.type !== 'progress') console.warn(`  ! unexpected ${script} message ${msg.type}`);
    if (msg.type === 'progress') proc.lastProgress = msg;
  });
  proc.on('exit', (code) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`${script} exited (${code})`));
  });
  proc.next = (type, timeoutMs) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${script}: no "${type}" in ${timeoutMs} ms`)),
        timeoutMs,
      );
      waiters.push({
        type,
        resolve: (m) => (clearTimeout(timer), resolve(m)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
  proc.call = (msg, replyType, timeoutMs = 30_000) => {
    const p = proc.next(replyType, timeoutMs);
    proc.send(msg);
    return p;
  };
  return proc;
}

/** Starts the target's server on the server core; resolves once it printed its port. */
async function startServer(target, ctx, role) {
  const spec = target.server(ctx, role);
  // --inspect on loopback port 0: how the orchestrator forces GC and reads heap statistics the
  // same way for every target, including one (Herald) that has no endpoint for it.
  // BENCH_SERVER_NODE_ARGS adds Node flags to the server only (e.g. --cpu-prof for profiling).
  const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const [cmd, args] = nodeCommand(SERVER_CORE, [
    '--expose-gc',
    '--inspect=127.0.0.1:0',
    ...extra,
    spec.script,
    ...(spec.args ?? []),
  ]);
  const proc = spawn(cmd, args, {
    cwd: spec.cwd ?? benchDir,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  const tail = []; // last output lines, shown if the server fails
  const remember = (line) => (tail.push(line), tail.length > 30 && tail.shift());
  let port, inspectorUrl;
  let timeout, poll;
  const ready = new Promise((resolve, reject) => {
    const check = () => port && inspectorUrl && resolve();
    lines(proc.stdout, (line) => {
      remember(line);
      port ??= target.readyPort(line);
      check();
    });
    lines(proc.stderr, (line) => {
      remember(line);
      inspectorUrl ??= /Debugger listening on (ws:\/\/127\.0\.0\.1:(\d+)\/\S+)/.exec(line)?.[1];
      check();
    });
    // Fallback when the ready line is filtered by the server's log level: the one TCP port it
    // listens on besides the inspector's.
    poll = setInterval(() => {
      if (!inspectorUrl || port) return;
      const inspectorPort = Number(new URL(inspectorUrl).port);
      const ports = listeningPorts(proc.pid).filter((p) => p !== inspectorPort);
      if (ports.length === 1) port = ports[0];
      check();
    }, 250);
    proc.on('exit', (code, sig) => {
      children.delete(proc);
      reject(new Error(`${target.name} exited (${code ?? sig}) before it was ready:\n${tail.join('\n')}`));
    });
    timeout = setTimeout(
      () => reject(new Error(`${target.name}: not ready in 60 s:\n${tail.join('\n')}`)),
      60_000,
    );
  });
  try {
    await ready;
  } catch (err) {
    await stopProcess(proc);
    throw err;
  } finally {
    clearTimeout(timeout);
    clearInterval(poll);
  }
  return { proc, pid: proc.pid, port, inspectorUrl, tail };
}

function lines(stream, onLine) {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    if (buf.length > 1e6) buf = ''; // a runaway line without newline: drop it
  });
}

/** SIGTERM, then SIGKILL after a grace period; by pid, only processes we started. */
async function stopProcess(proc, graceMs = 5000) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  if (await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)])) return;
  proc.kill('SIGKILL');
  await Promise.race([exited, sleep(2000)]);
}

/** A Chrome DevTools Protocol session on the server's inspector (loopback only). */
async function openInspector(url) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  let id = 0;
  const pending = new Map();
  ws.on('message', (data) => {
    const msg = JSON.parse(data);
    const p = pending.get(msg.id);
    if (!p) return; // an event, not a reply
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(msg.error.message));
    else p.resolve(msg.result);
  });
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`inspector ${method}: timeout`)), 30_000);
      pending.set(++id, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { call, close: () => ws.close() };
}

/** Full GC (twice: the second collects what the first's finalizers released), then RSS and heap. */
async function measureMemory(server) {
  const inspector = await openInspector(server.inspectorUrl);
  try {
    await inspector.call('HeapProfiler.collectGarbage');
    await inspector.call('HeapProfiler.collectGarbage');
    await sleep(500);
    const r = await inspector.call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    });
    const mu = JSON.parse(r.result.value);
    return { rss: rssBytes(server.pid), heapUsed: mu.heapUsed, external: mu.external };
  } finally {
    inspector.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Client source addresses
// ---------------------------------------------------------------------------------------------

// Connections are spread over loopback source addresses 127.0.0.2, .3, … with at most this many
// on one address, and no address is used twice in a run. Node binds the source address before
// connecting, and bind() picks a free port by searching (half of) the ~28k ephemeral ports of that
// address; with many sockets, or TIME_WAIT leftovers from the previous scenario, on one address
// that search slows connection setup by orders of magnitude.
const PER_SOURCE_ADDRESS = 1000;
let addressCounter = 2;

function sourceAddresses(n) {
  const out = [];
  while (out.length < n) {
    const c = addressCounter++;
    if (c % 256 === 0 || c % 256 === 255) continue;
    if (c >= 256 * 256) throw new Error('out of source addresses');
    out.push(`127.0.${c >> 8}.${c & 255}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// One scenario: one server, N subscribers, both publish phases
// ---------------------------------------------------------------------------------------------

const log = (s) => console.log(s);
const fmt = (n, d = 0) =>
  n == null || !Number.isFinite(n)
    ? '–'
    : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function runScenario(target, subs) {
  log(`\n== ${target.name}, ${fmt(subs)} subscribers ==`);
  const ctx = target.prepare();
  const server = await startServer(target, ctx);
  const workers = [];
  try {
    log(`  server pid ${server.pid} listening on 127.0.0.1:${server.port}`);
    await sleep(1000);
    const mem0 = await measureMemory(server);

    // Subscribers: (subs - 1) in load generators, the last one is the publisher's probe.
    const lgCount = Math.ceil((subs - 1) / opts.perProc);
    const loadgens = [];
    for (let k = 0; k < lgCount; k++) {
      const count = Math.min(opts.perProc, subs - 1 - k * opts.perProc);
      const lg = spawnWorker('loadgen.mjs');
      lg.count = count;
      loadgens.push(lg);
      workers.push(lg);
      lg.send({
        type: 'start',
        target: target.name,
        ctx,
        port: server.port,
        firstIndex: k * opts.perProc,
        count,
        localAddresses: sourceAddresses(Math.ceil(count / PER_SOURCE_ADDRESS)),
      });
    }
    const t = Date.now();
    const connected = Promise.all(loadgens.map((lg) => lg.next('connected', 180_000)));
    const progress = setInterval(() => {
      const sub = loadgens.reduce((a, lg) => a + (lg.lastProgress?.subscribed ?? 0), 0);
      const failed = loadgens.reduce((a, lg) => a + (lg.lastProgress?.failed ?? 0), 0);
      log(`  connecting: ${fmt(sub)}/${fmt(subs - 1)} subscribed, ${failed} failed`);
    }, 2000);
    const lgStart = await connected.finally(() => clearInterval(progress));
    const publisher = spawnWorker('publisher.mjs');
    workers.push(publisher);
    const probe = await publisher.call(
      {
        type: 'start',
        target: target.name,
        ctx,
        port: server.port,
        probeIndex: subs - 1,
        localAddresses: sourceAddresses(1),
      },
      'connected',
    );
    const open = lgStart.reduce((a, r) => a + r.open, 0) + probe.open;
    const failed = lgStart.reduce((a, r) => a + r.failed, 0) + probe.failed;
    const errors = [...new Set(lgStart.flatMap((r) => r.errors).concat(probe.errors))];
    log(
      `  ${fmt(open)} subscribers connected in ${fmt((Date.now() - t) / 1000, 1)} s` +
        (failed ? `, ${failed} FAILED: ${errors.join('; ')}` : ''),
    );
    if (open === 0) throw new Error('no subscriber connected');

    // Idle memory per connection.
    await sleep(opts.idleS * 1000);
    const mem1 = await measureMemory(server);
    const memory = {
      connections: open,
      rssBefore: mem0.rss,
      rssAfter: mem1.rss,
      rssPerConn: (mem1.rss - mem0.rss) / open,
      heapPerConn: (mem1.heapUsed - mem0.heapUsed) / open,
      externalPerConn: (mem1.external - mem0.external) / open,
    };
    log(
      `  idle memory: ${fmt(memory.rssPerConn / 1024, 2)} KiB RSS / connection ` +
        `(heap ${fmt(memory.heapPerConn / 1024, 2)} KiB), RSS ${fmt(mem0.rss / 2 ** 20, 1)} → ${fmt(mem1.rss / 2 ** 20, 1)} MiB`,
    );

    const phases = [];
    for (const mode of ['fixed', 'saturated']) {
      phases.push(await runPhase({ mode, subs: open, server, loadgens, publisher }));
      await sleep(1000);
    }
    return { target: target.name, subs, connected: open, failed, connectErrors: errors, memory, phases };
  } finally {
    for (const w of workers) if (w.connected) w.send({ type: 'stop' });
    await Promise.all(workers.map((w) => stopProcess(w, 3000)));
    await stopProcess(server.proc, 10_000);
  }
}

/**
 * Collects the workers' reports, polling (every 250 ms, at most 15 s) until `expected` deliveries of
 * the window's publications have arrived or the count has not moved for 2 s; then merges them.
 * `received` is what the loadgens counted of those deliveries.
 */
async function drainReports(workers, expected, { wait = true } = {}) {
  const collect = () => Promise.all(workers.map((w) => w.call({ type: 'report' }, 'report')));
  let reports = await collect();
  let received = reports.reduce((a, r) => a + r.sentInWindow, 0);
  for (let i = 0, still = 0; wait && i < 60 && received < expected && still < 8; i++) {
    await sleep(250);
    reports = await collect();
    const now = reports.reduce((a, r) => a + r.sentInWindow, 0);
    still = now === received ? still + 1 : 0;
    received = now;
  }
  const hist = new Histogram();
  for (const r of reports) hist.merge(r.hist);
  return {
    received,
    hist,
    recv: reports.reduce((a, r) => a + r.recvInWindow, 0),
    dropped: reports.reduce((a, r) => a + r.dropped, 0),
  };
}

async function runPhase({ mode, subs, server, loadgens, publisher }) {
  const fixed = mode === 'fixed';
  const rate = opts.offered / subs; // publications per second in the fixed phase
  const window = Math.max(2, Math.round(opts.windowDeliveries / subs));
  const startAt = nowUs() + 300_000;
  const t0 = startAt + opts.warmupS * 1e6;
  const t1 = t0 + opts.measureS * 1e6;
  log(
    `  ${mode}: ` +
      (fixed
        ? `${fmt(rate, 1)} publications/s = ${fmt(opts.offered)} deliveries/s offered`
        : `as fast as delivered, ≤ ${window} publications (${fmt(window * subs)} deliveries) in flight`) +
      `, ${opts.warmupS} s warm-up + ${opts.measureS} s measured`,
  );

  for (const lg of loadgens) lg.send({ type: 'window', t0, t1 });
  const done = publisher.call(
    { type: 'run', mode, rate, startAt, t0, t1, window },
    'done',
    (t1 - nowUs()) / 1000 + 30_000,
  );

  // CPU of every process over exactly the measured window.
  const pids = { server: server.pid, publisher: publisher.pid, loadgens: loadgens.map((lg) => lg.pid) };
  const sampleCpu = () => ({
    core: coreSeconds(SERVER_CORE),
    server: cpuSeconds(pids.server),
    publisher: cpuSeconds(pids.publisher),
    loadgens: pids.loadgens.map(cpuSeconds),
  });
  await sleepUntil(t0);
  const cpu0 = sampleCpu();
  for (let s = 1; s <= opts.measureS; s++) {
    await sleepUntil(t0 + s * 1e6);
    if (s % 5 === 0 && s < opts.measureS) log(`    measuring… ${s}/${opts.measureS} s`);
  }
  const cpu1 = sampleCpu();
  const pub = await done;

  // Drain: wait until every publication sent in the window has arrived (or nothing moves for 2 s).
  const expected = pub.publishedInWindow * subs;
  const { received, hist, recv, dropped } = await drainReports([...loadgens, publisher], expected);
  const serverCpu = cpu1.server - cpu0.server;
  const lgCpu = cpu1.loadgens.map((c, i) => (c - cpu0.loadgens[i]) / opts.measureS);
  const pubCpu = (cpu1.publisher - cpu0.publisher) / opts.measureS;
  const coreBusy = hasTaskset && cpu0.core ? (cpu1.core.busy - cpu0.core.busy) / opts.measureS : null;
  const coreSoftirq =
    hasTaskset && cpu0.core ? (cpu1.core.softirq - cpu0.core.softirq) / opts.measureS : null;
  const res = {
    mode,
    publicationsPerSec: pub.publishedInWindow / opts.measureS,
    offeredDeliveriesPerSec: fixed ? opts.offered : null,
    deliveriesPerSec: recv / opts.measureS,
    serverCpuUtil: serverCpu / opts.measureS,
    serverCoreBusy: coreBusy,
    serverCoreSoftirq: coreSoftirq,
    cpuSecPerMillion: recv ? serverCpu / (recv / 1e6) : null,
    deliveriesPerCpuSec: serverCpu > 0 ? recv / serverCpu : null,
    latencyMs: {
      p50: hist.quantileMs(0.5),
      p99: hist.quantileMs(0.99),
      p999: hist.quantileMs(0.999),
      max: hist.max / 1000,
    },
    deliveredPct: expected ? (100 * received) / expected : null,
    publishedInWindow: pub.publishedInWindow,
    publishFailures: pub.failed,
    publishErrors: pub.errors,
    publishSkipped: pub.skipped,
    probeStalls: pub.stalls,
    droppedConnections: dropped,
    loadgenCpuUtil: lgCpu,
    publisherCpuUtil: pubCpu,
    warnings: [],
  };
  const loadCore = lgCpu.reduce((a, b) => a + b, 0) + pubCpu;
  lgCpu.forEach(
    (u, i) => u > 0.8 && res.warnings.push(`load generator ${i} used ${fmt(u * 100)}% of a core`),
  );
  if (hasTaskset && loadCore > 0.9 && !(coreBusy > 0.9))
    res.warnings.push(
      `load-generator core ${fmt(loadCore * 100)}% busy while the server core is not: the client side may limit this row`,
    );
  // Core busy time not explained by the server or by softirq: someone else ran on the server core.
  res.otherOnServerCore = coreBusy == null ? null : Math.max(0, coreBusy - res.serverCpuUtil - coreSoftirq);
  if (res.otherOnServerCore > 0.1)
    res.warnings.push(
      `other processes used ~${fmt(res.otherOnServerCore * 100)}% of the server core: run on an idle machine`,
    );
  if (pub.failed) res.warnings.push(`${pub.failed} publish requests failed: ${pub.errors.join('; ')}`);
  if (pub.skipped) res.warnings.push(`${pub.skipped} scheduled publications skipped (server not answering)`);
  if (dropped) res.warnings.push(`${dropped} subscribers disconnected`);
  if (fixed && res.deliveriesPerSec < 0.95 * opts.offered)
    res.warnings.push('delivered less than 95% of the offered rate');

  log(
    `    ${fmt(res.deliveriesPerSec)} deliveries/s, server CPU ${fmt(res.serverCpuUtil * 100)}% (core ${fmt(coreBusy * 100)}% busy, ${fmt(coreSoftirq * 100)}% softirq), ` +
      `${fmt(res.cpuSecPerMillion, 3)} CPU s / M deliveries (${fmt(res.deliveriesPerCpuSec)} / CPU s), ` +
      `latency p50 ${fmt(res.latencyMs.p50, 2)} p99 ${fmt(res.latencyMs.p99, 2)} p99.9 ${fmt(res.latencyMs.p999, 2)} ms, ` +
      `delivered ${fmt(res.deliveredPct, 3)}%, load generators ${lgCpu.map((u) => fmt(u * 100) + '%').join(' ')} + publisher ${fmt(pubCpu * 100)}%`,
  );
  for (const w of res.warnings) log(`    WARNING: ${w}`);
  return res;
}

// ---------------------------------------------------------------------------------------------
// Cluster mode: one api, N gateways, Kafka + Redis (targets/herald-cluster.mjs, docs/scaling.md)
// ---------------------------------------------------------------------------------------------

/** n split into k near-equal integer shares. */
const shares = (n, k) => Array.from({ length: k }, (_, i) => Math.floor(n / k) + (i < n % k ? 1 : 0));

async function runClusterScenario(target, subs) {
  log(`\n== ${target.name}, ${fmt(subs)} subscribers over ${opts.gateways} gateways ==`);
  const ctx = target.prepare();
  log(
    `  run ${ctx.runId}: Kafka ${ctx.brokers} (topic prefix "${ctx.topicPrefix}", ${ctx.partitions} partitions), ` +
      `Redis ${new URL(ctx.redisUrl).host} (key prefix "${ctx.keyPrefix}")`,
  );
  const servers = [];
  const workers = [];
  try {
    await target.setup(ctx);
    // Sequentially: the first process creates the topics; starting all at once races on creation.
    for (let g = 1; g <= opts.gateways; g++) {
      const s = await startServer(target, ctx, 'gateway');
      s.name = `gateway ${g}`;
      s.role = 'gateway';
      servers.push(s);
    }
    const api = await startServer(target, ctx, 'api');
    api.name = 'api';
    api.role = 'api';
    servers.unshift(api);
    const gateways = servers.filter((s) => s.role === 'gateway');
    for (const s of servers) log(`  ${s.name}: pid ${s.pid} on 127.0.0.1:${s.port}`);
    const infra = target.infraPids();
    log(
      `  kafka pid ${infra.kafka ?? '?'}, redis pid ${infra.redis ?? '?'} (shared services: CPU read, never signalled)`,
    );
    await sleep(1000);
    const mem0 = await Promise.all(gateways.map(measureMemory));

    // Subscribers: gateway g holds share[g]; the last gateway's last one is the publisher's probe.
    const share = shares(subs, gateways.length);
    const loadgens = [];
    let index = 0;
    gateways.forEach((gw, g) => {
      const own = share[g] - (g === gateways.length - 1 ? 1 : 0);
      for (let done = 0; done < own;) {
        const count = Math.min(opts.perProc, own - done);
        const lg = spawnWorker('loadgen.mjs');
        lg.count = count;
        lg.gateway = g;
        loadgens.push(lg);
        workers.push(lg);
        lg.send({
          type: 'start',
          target: target.name,
          ctx,
          port: gw.port,
          firstIndex: index,
          count,
          localAddresses: sourceAddresses(Math.ceil(count / PER_SOURCE_ADDRESS)),
        });
        index += count;
        done += count;
      }
    });
    const t = Date.now();
    const connected = Promise.all(loadgens.map((lg) => lg.next('connected', 180_000)));
    const progress = setInterval(() => {
      const sub = loadgens.reduce((a, lg) => a + (lg.lastProgress?.subscribed ?? 0), 0);
      log(`  connecting: ${fmt(sub)}/${fmt(subs - 1)} subscribed`);
    }, 2000);
    const lgStart = await connected.finally(() => clearInterval(progress));
    const publisher = spawnWorker('publisher.mjs');
    workers.push(publisher);
    const probe = await publisher.call(
      {
        type: 'start',
        target: target.name,
        ctx,
        port: api.port,
        probePort: gateways.at(-1).port,
        probeIndex: subs - 1,
        localAddresses: sourceAddresses(1),
      },
      'connected',
    );
    const open = lgStart.reduce((a, r) => a + r.open, 0) + probe.open;
    const failed = lgStart.reduce((a, r) => a + r.failed, 0) + probe.failed;
    const errors = [...new Set(lgStart.flatMap((r) => r.errors).concat(probe.errors))];
    log(
      `  ${fmt(open)} subscribers connected (${share.map((n) => fmt(n)).join(' + ')}) in ${fmt((Date.now() - t) / 1000, 1)} s` +
        (failed ? `, ${failed} FAILED: ${errors.join('; ')}` : ''),
    );
    if (open === 0) throw new Error('no subscriber connected');

    await sleep(opts.idleS * 1000);
    const mem1 = await Promise.all(gateways.map(measureMemory));
    const memory = gateways.map((gw, g) => ({
      process: gw.name,
      connections: share[g],
      rssBefore: mem0[g].rss,
      rssAfter: mem1[g].rss,
      rssPerConn: (mem1[g].rss - mem0[g].rss) / share[g],
      heapPerConn: (mem1[g].heapUsed - mem0[g].heapUsed) / share[g],
    }));
    for (const m of memory)
      log(
        `  ${m.process} idle memory: ${fmt(m.rssPerConn / 1024, 2)} KiB RSS / connection, RSS ${fmt(m.rssBefore / 2 ** 20, 1)} → ${fmt(m.rssAfter / 2 ** 20, 1)} MiB`,
      );

    const procs = [
      ...servers.map((s) => ({ name: s.name, pid: s.pid, herald: true, role: s.role })),
      { name: 'kafka', pid: infra.kafka },
      { name: 'redis', pid: infra.redis },
    ].filter((p) => p.pid);
    const env = { subs: open, share, loadgens, publisher, procs };
    const phases = [];
    for (const mode of ['fixed', 'saturated']) {
      phases.push(await runClusterPhase({ ...env, mode }));
      await sleep(1000);
    }
    if (opts.flood.length) {
      const flood = spawnWorker('kafka-flood.mjs');
      workers.push(flood);
      await flood.call({ type: 'start', target: target.name, ctx }, 'connected');
      for (const f of opts.flood) {
        phases.push(await runClusterPhase({ ...env, mode: `flood-${f.kind}`, flood, floodRate: f.rate }));
        await sleep(1000);
      }
    }
    return {
      target: target.name,
      cluster: true,
      gateways: opts.gateways,
      partitions: ctx.partitions,
      subs,
      connected: open,
      perGateway: share,
      failed,
      connectErrors: errors,
      memory,
      phases,
    };
  } finally {
    for (const w of workers) if (w.connected) w.send({ type: 'stop' });
    await Promise.all(workers.map((w) => stopProcess(w, 3000)));
    await Promise.all(servers.map((s) => stopProcess(s.proc, 10_000)));
    log(`  cleanup: ${await target.cleanup(ctx)}`);
  }
}

/**
 * One measured phase in cluster mode. Publish phases (fixed, saturated) as in runPhase, through
 * the api; flood phases (flood-void, flood-subscribed) write records straight into Kafka.
 */
async function runClusterPhase({ mode, subs, loadgens, publisher, procs, flood, floodRate }) {
  const isFlood = mode.startsWith('flood-');
  const fixed = mode === 'fixed';
  const rate = fixed ? opts.offered / subs : floodRate; // publications (records) per second
  const window = Math.max(2, Math.round(opts.windowDeliveries / subs));
  const startAt = nowUs() + 300_000;
  const t0 = startAt + opts.warmupS * 1e6;
  const t1 = t0 + opts.measureS * 1e6;
  log(
    `  ${mode}: ` +
      (fixed
        ? `${fmt(rate, 1)} publications/s = ${fmt(opts.offered)} deliveries/s offered through the api`
        : mode === 'saturated'
          ? `as fast as delivered, ≤ ${window} publications (${fmt(window * subs)} deliveries) in flight`
          : mode === 'flood-void'
            ? `${fmt(rate)} records/s written to Kafka for 64 channels nobody subscribes to`
            : `${fmt(rate)} records/s written to Kafka for the subscribed channel (${fmt(rate * subs)} deliveries/s offered)`) +
      `, ${opts.warmupS} s warm-up + ${opts.measureS} s measured`,
  );

  for (const lg of loadgens) lg.send({ type: 'window', t0, t1 });
  const done = isFlood
    ? flood.call(
        {
          type: 'run',
          rate,
          channels:
            mode === 'flood-void' ? { kind: 'void', count: 64 } : { kind: 'subscribed', channel: 'bench' },
          startAt,
          t0,
          t1,
        },
        'done',
        (t1 - nowUs()) / 1000 + 30_000,
      )
    : publisher.call(
        { type: 'run', mode, rate, startAt, t0, t1, window },
        'done',
        (t1 - nowUs()) / 1000 + 30_000,
      );
  if (isFlood) publisher.send({ type: 'window', t0, t1 }); // probe counts flood deliveries too
  const sample = () => ({
    cores: [coreSeconds(SERVER_CORE), coreSeconds(LOADGEN_CORE)],
    procs: procs.map((p) => ({ cpu: cpuSeconds(p.pid), read: readBytes(p.pid) })),
    publisher: cpuSeconds(publisher.pid),
    loadgens: loadgens.map((lg) => cpuSeconds(lg.pid)),
    flood: flood ? cpuSeconds(flood.pid) : 0,
    self: process.cpuUsage(),
  });
  await sleepUntil(t0);
  const c0 = sample();
  for (let s = 1; s <= opts.measureS; s++) await sleepUntil(t0 + s * 1e6);
  const c1 = sample();
  const pub = await done;
  const publishedInWindow = isFlood ? pub.producedInWindow : pub.publishedInWindow;

  // Drain (bounded): every delivery of a publication sent in the window, or nothing moves for 2 s.
  // A flood of records nobody subscribed to has nothing to drain.
  const expected = publishedInWindow * subs;
  const { received, hist, recv, dropped } = await drainReports([...loadgens, publisher], expected, {
    wait: mode !== 'flood-void',
  });
  const S = opts.measureS;
  const processes = procs.map((p, i) => {
    const cpu = c1.procs[i].cpu - c0.procs[i].cpu;
    const read =
      c1.procs[i].read != null && c0.procs[i].read != null ? c1.procs[i].read - c0.procs[i].read : null;
    return {
      name: p.name,
      role: p.role ?? p.name,
      herald: !!p.herald,
      cpuUtil: cpu / S,
      cpuSecPerMillion: recv ? cpu / (recv / 1e6) : null,
      cpuUsPerPublication: publishedInWindow ? (cpu * 1e6) / publishedInWindow : null,
      readBytesPerSec: read == null ? null : read / S,
      readBytesPerPublication: read == null || !publishedInWindow ? null : read / publishedInWindow,
    };
  });
  const heraldCpu = processes.filter((p) => p.herald).reduce((a, p) => a + p.cpuUtil * S, 0);
  const allCpu = processes.reduce((a, p) => a + p.cpuUtil * S, 0);
  const lgCpu = c1.loadgens.map((c, i) => (c - c0.loadgens[i]) / S);
  const pubCpu = (c1.publisher - c0.publisher) / S;
  const floodCpu = (c1.flood - c0.flood) / S;
  const selfCpu = (c1.self.user + c1.self.system - c0.self.user - c0.self.system) / 1e6 / S;
  const coreBusy = c0.cores.map((c, i) => (c && c1.cores[i] ? (c1.cores[i].busy - c.busy) / S : null));
  const softirq =
    c0.cores.reduce((a, c, i) => a + (c && c1.cores[i] ? c1.cores[i].softirq - c.softirq : 0), 0) / S;
  const machineBusy = coreBusy.reduce((a, b) => a + (b ?? 0), 0);
  const known = allCpu / S + lgCpu.reduce((a, b) => a + b, 0) + pubCpu + floodCpu + selfCpu;
  const res = {
    mode,
    publicationsPerSec: publishedInWindow / S,
    offeredDeliveriesPerSec: fixed ? opts.offered : mode === 'flood-subscribed' ? rate * subs : null,
    offeredRecordsPerSec: isFlood ? rate : null,
    deliveriesPerSec: recv / S,
    serverCpuUtil: heraldCpu / S, // api + gateways
    clusterCpuUtil: allCpu / S, // + Kafka + Redis
    cpuSecPerMillion: recv ? heraldCpu / (recv / 1e6) : null,
    clusterCpuSecPerMillion: recv ? allCpu / (recv / 1e6) : null,
    deliveriesPerCpuSec: heraldCpu > 0 ? recv / heraldCpu : null,
    processes,
    latencyMs: {
      p50: hist.quantileMs(0.5),
      p99: hist.quantileMs(0.99),
      p999: hist.quantileMs(0.999),
      max: hist.max / 1000,
    },
    deliveredPct: expected && mode !== 'flood-void' ? (100 * received) / expected : null,
    publishedInWindow,
    publishFailures: pub.failed,
    publishErrors: pub.errors,
    publishSkipped: pub.skipped,
    probeStalls: pub.stalls ?? 0,
    droppedConnections: dropped,
    loadgenCpuUtil: lgCpu,
    publisherCpuUtil: pubCpu,
    floodCpuUtil: floodCpu,
    orchestratorCpuUtil: selfCpu,
    coreBusy,
    softirq,
    machineBusy,
    // Busy time on the machine not explained by any process measured here: other users' work.
    unattributed: Math.max(0, machineBusy - softirq - known),
    warnings: [],
  };
  const heraldSaturated = processes.filter((p) => p.herald && p.cpuUtil > 0.85);
  for (const p of heraldSaturated)
    res.warnings.push(
      `${p.name} used ${fmt(p.cpuUtil * 100)}% of a core: it may be the bottleneck of this row`,
    );
  if (machineBusy > 1.8)
    res.warnings.push(`machine ${fmt(machineBusy * 50)}% busy (both cores): every process competes for CPU`);
  if (res.unattributed > 0.15)
    res.warnings.push(`~${fmt(res.unattributed * 100)}% of a core used by processes outside this benchmark`);
  if (pub.failed) res.warnings.push(`${pub.failed} publishes failed: ${pub.errors.join('; ')}`);
  if (pub.skipped) res.warnings.push(`${pub.skipped} scheduled publications/records skipped (backlog)`);
  if (dropped) res.warnings.push(`${dropped} subscribers disconnected`);
  if (res.offeredDeliveriesPerSec && res.deliveriesPerSec < 0.95 * res.offeredDeliveriesPerSec)
    res.warnings.push('delivered less than 95% of the offered rate');

  const per = processes
    .map(
      (p) =>
        `${p.name} ${fmt(p.cpuUtil * 100)}%` +
        (isFlood && p.role === 'gateway'
          ? ` (${fmt(p.cpuUsPerPublication, 1)} µs, ${fmt(p.readBytesPerPublication)} B read / record)`
          : ''),
    )
    .join(', ');
  log(
    `    ${fmt(res.publicationsPerSec)} publications/s, ${fmt(res.deliveriesPerSec)} deliveries/s; CPU ${per}; ` +
      `cores ${coreBusy.map((b) => fmt((b ?? 0) * 100) + '%').join(' / ')} busy` +
      (recv
        ? `; ${fmt(res.cpuSecPerMillion, 3)} Herald CPU s / M deliveries (${fmt(res.clusterCpuSecPerMillion, 3)} with Kafka + Redis), ` +
          `latency p50 ${fmt(res.latencyMs.p50, 2)} p99 ${fmt(res.latencyMs.p99, 2)} p99.9 ${fmt(res.latencyMs.p999, 2)} ms, delivered ${fmt(res.deliveredPct, 3)}%`
        : '') +
      `; load generators ${lgCpu.map((u) => fmt(u * 100) + '%').join(' ')} + publisher ${fmt(pubCpu * 100)}%` +
      (isFlood ? ` + flood ${fmt(floodCpu * 100)}%` : ''),
  );
  for (const w of res.warnings) log(`    WARNING: ${w}`);
  return res;
}

function clusterMarkdown(results) {
  const out = [];
  const names = [...new Set(results.flatMap((s) => s.phases.flatMap((p) => p.processes.map((x) => x.name))))];
  out.push(
    `| subscribers (per gateway) | phase | publications/s | delivered/s | Herald CPU s per M deliveries (with Kafka + Redis) | p50 ms | p99 ms | p99.9 ms | delivered | ${names.map((n) => `${n} CPU`).join(' | ')} | cores busy | not ours |`,
  );
  out.push(`|---|---|---:|---:|---:|---:|---:|---:|---:|${names.map(() => '---:|').join('')}---:|---:|`);
  for (const s of results) {
    for (const p of s.phases) {
      const phase =
        p.mode === 'fixed'
          ? `fixed ${fmt(p.offeredDeliveriesPerSec / 1000)}k/s`
          : p.mode.startsWith('flood')
            ? `${p.mode} ${fmt(p.offeredRecordsPerSec)}/s`
            : p.mode;
      const cpu = names.map((n) => {
        const x = p.processes.find((q) => q.name === n);
        return x ? `${fmt(x.cpuUtil * 100)}%` : '–';
      });
      const hasDeliveries = p.deliveriesPerSec > 0;
      out.push(
        `| ${fmt(s.connected)} (${s.perGateway.map((n) => fmt(n)).join(' + ')}) | ${phase} | ${fmt(p.publicationsPerSec)} | ${fmt(p.deliveriesPerSec)} | ` +
          `${hasDeliveries ? `${fmt(p.cpuSecPerMillion, 3)} (${fmt(p.clusterCpuSecPerMillion, 3)})` : '–'} | ` +
          `${hasDeliveries ? fmt(p.latencyMs.p50, 2) : '–'} | ${hasDeliveries ? fmt(p.latencyMs.p99, 2) : '–'} | ${hasDeliveries ? fmt(p.latencyMs.p999, 2) : '–'} | ` +
          `${p.deliveredPct == null ? '–' : fmt(p.deliveredPct, 2) + '%'} | ${cpu.join(' | ')} | ${p.coreBusy.map((b) => fmt((b ?? 0) * 100) + '%').join(' / ')} | ${fmt(p.unattributed * 100)}% |`,
      );
    }
  }
  const floods = results.flatMap((s) =>
    s.phases.filter((p) => p.mode.startsWith('flood')).map((p) => ({ s, p })),
  );
  if (floods.length) {
    out.push('');
    out.push(
      '| subscribers | flood phase | records/s written | per gateway: CPU µs per record | per gateway: bytes read per record | api CPU µs per record | Kafka CPU µs per record |',
    );
    out.push('|---:|---|---:|---:|---:|---:|---:|');
    for (const { s, p } of floods) {
      const gws = p.processes.filter((x) => x.role === 'gateway');
      const one = (n) => p.processes.find((x) => x.name === n);
      out.push(
        `| ${fmt(s.connected)} | ${p.mode} ${fmt(p.offeredRecordsPerSec)}/s | ${fmt(p.publicationsPerSec)} | ${gws.map((g) => fmt(g.cpuUsPerPublication, 1)).join(' / ')} | ` +
          `${gws.map((g) => fmt(g.readBytesPerPublication)).join(' / ')} | ${fmt(one('api')?.cpuUsPerPublication, 1)} | ${fmt(one('kafka')?.cpuUsPerPublication, 1)} |`,
      );
    }
  }
  out.push('');
  out.push('| subscribers | gateway | RSS before → after (MiB) | RSS per idle connection |');
  out.push('|---:|---|---:|---:|');
  for (const s of results)
    for (const m of s.memory)
      out.push(
        `| ${fmt(s.connected)} | ${m.process} | ${fmt(m.rssBefore / 2 ** 20, 1)} → ${fmt(m.rssAfter / 2 ** 20, 1)} | ${fmt(m.rssPerConn / 1024, 2)} KiB |`,
      );
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

function markdown(results) {
  const out = [];
  out.push(
    '| target | subscribers | phase | delivered/s | server CPU (core busy) | CPU s per M deliveries | deliveries per CPU s | p50 ms | p99 ms | p99.9 ms | delivered | load-gen core |',
  );
  out.push('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of results.filter((r) => !r.cluster)) {
    for (const p of s.phases) {
      const loadCore = p.loadgenCpuUtil.reduce((a, b) => a + b, 0) + p.publisherCpuUtil;
      const phase = p.mode === 'fixed' ? `fixed ${fmt(p.offeredDeliveriesPerSec / 1000)}k/s` : 'saturated';
      out.push(
        `| ${s.target} | ${fmt(s.connected)} | ${phase} | ${fmt(p.deliveriesPerSec)} | ${fmt(p.serverCpuUtil * 100)}% (${fmt(p.serverCoreBusy * 100)}%) | ` +
          `${fmt(p.cpuSecPerMillion, 3)} | ${fmt(p.deliveriesPerCpuSec)} | ${fmt(p.latencyMs.p50, 2)} | ${fmt(p.latencyMs.p99, 2)} | ` +
          `${fmt(p.latencyMs.p999, 2)} | ${fmt(p.deliveredPct, 2)}% | ${fmt(loadCore * 100)}% |`,
      );
    }
  }
  out.push('');
  out.push(
    '| target | subscribers | RSS before → after (MiB) | RSS per idle connection | JS heap per idle connection |',
  );
  out.push('|---|---:|---:|---:|---:|');
  for (const s of results.filter((r) => !r.cluster)) {
    const m = s.memory;
    out.push(
      `| ${s.target} | ${fmt(m.connections)} | ${fmt(m.rssBefore / 2 ** 20, 1)} → ${fmt(m.rssAfter / 2 ** 20, 1)} | ` +
        `${fmt(m.rssPerConn / 1024, 2)} KiB | ${fmt(m.heapPerConn / 1024, 2)} KiB |`,
    );
  }
  return out.join('\n');
}

/** Herald's targets from the issue, when Herald and the framed reference both ran. */
function checkTargets(results) {
  const find = (target, subs, mode) =>
    results.find((s) => s.target === target && s.subs === subs)?.phases.find((p) => p.mode === mode);
  const lines = [];
  const h = find('herald', 10000, 'saturated');
  const f = find('ref-framed', 10000, 'saturated');
  if (h && f) {
    const ratio = h.deliveriesPerCpuSec / f.deliveriesPerCpuSec;
    lines.push(
      `${ratio >= 0.9 ? 'PASS' : 'FAIL'} deliveries per CPU s at 10k saturated: ${fmt(ratio * 100, 1)}% of ref-framed (target ≥ 90%)`,
    );
  }
  for (const s of results.filter((r) => r.target === 'herald')) {
    const p = s.phases.find((x) => x.mode === 'fixed');
    if (p)
      lines.push(
        `${p.latencyMs.p99 <= 100 ? 'PASS' : 'FAIL'} p99 at ${fmt(s.subs)} subscribers, 50k/s offered: ${fmt(p.latencyMs.p99, 2)} ms (target ≤ 100 ms)`,
      );
    if (s.subs >= 10000)
      lines.push(
        `${s.memory.rssPerConn <= 8192 ? 'PASS' : 'FAIL'} idle memory at ${fmt(s.subs)}: ${fmt(s.memory.rssPerConn / 1024, 2)} KiB / connection (target ≤ 8 KiB)`,
      );
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main() {
  if (hasTaskset)
    execFileSync('taskset', ['-a', '-p', '-c', LOADGEN_CORE, String(process.pid)], { stdio: 'ignore' });
  const machine = machineInfo();
  const started = new Date();
  const command = `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`;
  log(`Herald benchmark: ${command}`);
  log(
    `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.os}, Linux ${machine.kernel}, Node ${machine.node}`,
  );
  log(`pinning: ${machine.pinned}${opts.nice ? `; priority nice -${opts.nice}` : ''}`);
  log(
    `targets ${opts.targets.join(', ')}; subscribers ${opts.subs.join(', ')}; ${opts.warmupS} s warm-up + ${opts.measureS} s measured per phase`,
  );

  const results = [];
  const failures = [];
  for (const name of opts.targets) {
    for (const subs of opts.subs) {
      try {
        const target = getTarget(name);
        results.push(await (target.cluster ? runClusterScenario(target, subs) : runScenario(target, subs)));
      } catch (err) {
        log(`  ERROR: ${name} at ${subs} subscribers: ${err.message}`);
        failures.push({ target: name, subs, error: err.message });
      }
    }
  }

  const md = [
    results.some((r) => !r.cluster) ? markdown(results) : '',
    results.some((r) => r.cluster) ? clusterMarkdown(results.filter((r) => r.cluster)) : '',
  ]
    .filter(Boolean)
    .join('\n\n');
  const checks = checkTargets(results);
  log('\n' + md);
  if (checks.length) log('\n' + checks.join('\n'));
  for (const f of failures) log(`FAILED: ${f.target} at ${f.subs} subscribers: ${f.error.split('\n')[0]}`);

  const dir = `${benchDir}results`;
  mkdirSync(dir, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  writeFileSync(
    `${dir}/${stamp}.json`,
    JSON.stringify({ started, command, machine, opts, results, failures, checks }, null, 2),
  );
  writeFileSync(`${dir}/${stamp}.md`, `${command}\n\n${md}\n\n${checks.join('\n')}\n`);
  log(`\nresults: bench/results/${stamp}.json (and .md)`);
  process.exitCode = failures.length ? 1 : 0;
}

async function cleanup() {
  await Promise.all([...children].map((c) => stopProcess(c, 2000)));
}
process.on('SIGINT', () => cleanup().then(() => process.exit(130)));
process.on('SIGTERM', () => cleanup().then(() => process.exit(143)));

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(cleanup);
