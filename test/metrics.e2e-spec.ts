import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DisconnectCode } from '@herald/protocol';
import {
  openStalledSubscriber,
  publishUntilClosed,
  startTestNode,
  uniqueId,
  type TestNode,
} from '@herald/testing';

// /metrics: the Prometheus exposition a scraper reads. Parsed here as a scraper would (families
// declared by # HELP/# TYPE, every sample in a declared family, label values unescaped, histogram
// buckets cumulative up to +Inf == _count), so a format break or a missing series fails the test.
// docs/operations.md lists the metrics; helm/herald/dashboards/herald.json may only use these.

interface Family {
  type: string;
  help: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

const SAMPLE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/;
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;

/** Parses the text exposition format (version 0.0.4) strictly. */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const familyOf = (sample: string): Family | undefined => {
    for (const suffix of ['', '_bucket', '_sum', '_count']) {
      if (suffix && !sample.endsWith(suffix)) continue;
      const f = families.get(sample.slice(0, sample.length - suffix.length));
      if (f && (suffix === '' || f.type === 'histogram' || f.type === 'summary')) return f;
    }
    return undefined;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      const f = families.get(meta[2]) ?? { type: 'untyped', help: '', samples: [] };
      if (meta[1] === 'HELP') f.help = meta[3];
      else {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(meta[3]))
          throw new Error(`bad TYPE: ${line}`);
        f.type = meta[3];
      }
      families.set(meta[2], f);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE_RE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      LABEL_RE.lastIndex = 0;
      let consumed = 0;
      for (let l = LABEL_RE.exec(m[2]); l; l = LABEL_RE.exec(m[2])) {
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        consumed = LABEL_RE.lastIndex;
      }
      if (consumed !== m[2].length) throw new Error(`bad labels: ${line}`);
    }
    // Values parse as Go's ParseFloat does (Prometheus): NaN and Inf in any case (prom-client
    // writes `Nan` for an empty event-loop histogram).
    const raw = m[3].toLowerCase();
    const value = /^[+]?inf$/.test(raw) ? Infinity : raw === '-inf' ? -Infinity : Number(m[3]);
    if (Number.isNaN(value) && raw !== 'nan') throw new Error(`bad value: ${line}`);
    const family = familyOf(m[1]);
    if (!family) throw new Error(`sample without # TYPE: ${line}`);
    family.samples.push({ name: m[1], labels, value });
  }
  for (const [name, f] of families) {
    if (f.type !== 'histogram') continue;
    const series = new Map<string, { le: number; v: number }[]>();
    for (const s of f.samples.filter((x) => x.name === `${name}_bucket`)) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      series.set(key, [
        ...(series.get(key) ?? []),
        { le: le === '+Inf' ? Infinity : Number(le), v: s.value },
      ]);
    }
    for (const [key, buckets] of series) {
      for (let i = 1; i < buckets.length; i++) {
        if (buckets[i].le <= buckets[i - 1].le || buckets[i].v < buckets[i - 1].v)
          throw new Error(`${name}${key}: buckets not cumulative`);
      }
      const count = f.samples.find(
        (x) => x.name === `${name}_count` && JSON.stringify(x.labels) === key,
      )?.value;
      if (buckets[buckets.length - 1].le !== Infinity || buckets[buckets.length - 1].v !== count)
        throw new Error(`${name}${key}: +Inf bucket differs from _count`);
    }
  }
  return families;
}

function value(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const f of families.values()) {
    const s = f.samples.find(
      (x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v),
    );
    if (s) return s.value;
  }
  return undefined;
}

async function scrape(node: TestNode): Promise<{ text: string; families: Map<string, Family> }> {
  const res = await fetch(`${node.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  const text = await res.text();
  return { text, families: parseExposition(text) };
}

let node: TestNode;

beforeAll(async () => {
  // A small outbound queue, so a stalled reader is cut off as slow after a few publications.
  node = await startTestNode({ limits: { outboundQueueBytes: 64 * 1024 } });
});

afterAll(async () => {
  await node?.close();
});

describe('/metrics', () => {
  it('exports usage per app (connections, published, delivered) and process metrics', async () => {
    const { alpha, beta } = node.apps;
    const channel = uniqueId('metrics');
    const client = await node.connect(alpha, 'm-user');
    await client.request({ cmd: 'subscribe', channel });
    await node.rest(alpha).publish(channel, { n: 1 });
    await client.nextPush((p) => p.push === 'pub' && p.channel === channel);

    const { text, families } = await scrape(node);
    expect(value(families, 'herald_connections', { app: alpha.id })).toBe(1);
    expect(value(families, 'herald_messages_published_total', { app: alpha.id })).toBeGreaterThanOrEqual(1);
    expect(value(families, 'herald_messages_delivered_total', { app: alpha.id })).toBeGreaterThanOrEqual(1);
    expect(value(families, 'herald_messages_published_total', { app: beta.id }) ?? 0).toBe(0);
    expect(value(families, 'herald_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(families.get('herald_nodejs_eventloop_lag_p99_seconds')?.type).toBe('gauge');
    // Bounded labels: no series is labelled with a user id or a channel name.
    expect(text).not.toContain('m-user');
    expect(text).not.toContain(channel);
    await client.close();
  });

  it('exports connections by transport and app, messages in and out, and the fan-out latency', async () => {
    const { alpha } = node.apps;
    const channel = uniqueId('fanout');
    const before = await scrape(node);
    const framesBefore =
      value(before.families, 'herald_client_frames_sent_total', { transport: 'websocket' }) ?? 0;
    const busBefore = value(before.families, 'herald_bus_messages_in_total', { topic: 'publications' }) ?? 0;
    const latencyBefore = value(before.families, 'herald_fanout_latency_seconds_count') ?? 0;

    const clients = [await node.connect(alpha, 'fan-1'), await node.connect(alpha, 'fan-2')];
    for (const c of clients) await c.request({ cmd: 'subscribe', channel });
    const PUBLICATIONS = 5;
    for (let i = 0; i < PUBLICATIONS; i++) await node.rest(alpha).publish(channel, { i });
    for (const c of clients) await c.nextPubs(channel, PUBLICATIONS);

    const { families } = await scrape(node);
    expect(value(families, 'herald_client_connections', { app: alpha.id, transport: 'websocket' })).toBe(2);
    expect(value(families, 'herald_node_connections')).toBe(2);
    // Out: 2 connections x (connect + subscribe replies + 5 publications), at least.
    expect(
      value(families, 'herald_client_frames_sent_total', { transport: 'websocket' }),
    ).toBeGreaterThanOrEqual(framesBefore + 2 * PUBLICATIONS);
    expect(value(families, 'herald_bus_messages_in_total', { topic: 'publications' })).toBeGreaterThanOrEqual(
      busBefore + PUBLICATIONS,
    );
    expect(families.get('herald_fanout_latency_seconds')?.type).toBe('histogram');
    expect(value(families, 'herald_fanout_latency_seconds_count')).toBeGreaterThanOrEqual(
      latencyBefore + PUBLICATIONS,
    );
    for (const c of clients) await c.close();
  });

  it('counts slow disconnects and dropped frames by transport', async () => {
    const { alpha } = node.apps;
    const channel = `nohist:${uniqueId('slow')}`;
    const before = await scrape(node);
    const slowBefore =
      value(before.families, 'herald_slow_disconnects_total', { transport: 'websocket' }) ?? 0;
    const droppedBefore =
      value(before.families, 'herald_outbound_dropped_frames_total', { transport: 'websocket' }) ?? 0;

    const { socket: stalled, client } = await openStalledSubscriber(node, alpha, 'slow-metrics', channel);
    // Bounded: kernel buffers plus a 64 KiB queue fill long before 1000 x 60 KB.
    const { close } = await publishUntilClosed(node, alpha, channel, client, { max: 1000 });
    expect(close.code).toBe(DisconnectCode.SLOW.code);
    stalled.resume();

    const { families } = await scrape(node);
    expect(value(families, 'herald_slow_disconnects_total', { transport: 'websocket' })).toBe(slowBefore + 1);
    expect(
      value(families, 'herald_outbound_dropped_frames_total', { transport: 'websocket' }),
    ).toBeGreaterThan(droppedBefore);
    for (const transport of ['sse', 'poll']) {
      expect(value(families, 'herald_slow_disconnects_total', { transport })).toBeGreaterThanOrEqual(0);
    }
  }, 60_000);

  it('declares the driver metrics (Kafka consumer lag, Redis errors) in every process', async () => {
    const { families } = await scrape(node);
    expect(families.get('herald_kafka_consumer_lag')?.type).toBe('gauge');
    expect(families.get('herald_redis_errors_total')?.type).toBe('counter');
    expect(value(families, 'herald_redis_errors_total', { kind: 'command' })).toBeGreaterThanOrEqual(0);
  });

  it('docs/operations.md lists every metric Herald exports (and the dispatchers declare)', async () => {
    const { families } = await scrape(node);
    const doc = readFileSync(fileURLToPath(new URL('../docs/operations.md', import.meta.url)), 'utf8');
    const dispatchers = ['libs/push/src/metrics.ts', 'libs/webhooks/src/metrics.ts']
      .map((f) => readFileSync(fileURLToPath(new URL(`../${f}`, import.meta.url)), 'utf8'))
      .join('\n');
    const declared = [...dispatchers.matchAll(/'(herald_[a-z0-9_]+)'/g)].map((m) => m[1]);
    const names = [...families.keys(), ...declared].filter(
      (n) => !n.startsWith('herald_process_') && !n.startsWith('herald_nodejs_'),
    );
    expect(names.length).toBeGreaterThan(15);
    expect(names.filter((n) => !doc.includes(`\`${n}\``))).toEqual([]);
  });

  it('the sample Grafana dashboard uses only metrics Herald exports', async () => {
    const { families } = await scrape(node);
    const dashboard = readFileSync(
      fileURLToPath(new URL('../helm/herald/dashboards/herald.json', import.meta.url)),
      'utf8',
    );
    const used = new Set(dashboard.match(/\bherald_[a-z0-9_]+/g) ?? []);
    // Push and webhook outcome metrics are declared by their dispatchers' modules (libs/push,
    // libs/webhooks), which a test node may not load: those are looked up in their sources.
    const declaredElsewhere = ['libs/push/src/metrics.ts', 'libs/webhooks/src/metrics.ts']
      .map((f) => readFileSync(fileURLToPath(new URL(`../${f}`, import.meta.url)), 'utf8'))
      .join('\n');
    const missing = [...used].filter((name) => {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      const exported = families.has(name) || families.get(base)?.type === 'histogram';
      return !exported && !declaredElsewhere.includes(`'${name}'`);
    });
    expect(missing).toEqual([]);
    expect(used.size).toBeGreaterThan(10);
  });
});
