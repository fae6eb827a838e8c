import { startTestNode, uniqueId, type TestNode } from '@herald/testing';

// /metrics: the Prometheus exposition a scraper reads. Parsed here as a scraper would, so a
// format break or a missing usage series fails the test.

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode();
});

afterAll(async () => {
  await node?.close();
});

/** Parses the text exposition format into `name{labels}` → value. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    out.set(m[1], Number(m[2]));
  }
  return out;
}

async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`${node.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return parse(await res.text());
}

describe('/metrics', () => {
  it('exports usage per app (connections, published, delivered) and process metrics', async () => {
    const { alpha, beta } = node.apps;
    const channel = uniqueId('metrics');
    const client = await node.connect(alpha, 'm-user');
    await client.request({ cmd: 'subscribe', channel });
    await node.rest(alpha).publish(channel, { n: 1 });
    await client.nextPush((p) => p.push === 'pub' && p.channel === channel);

    const samples = await scrape();
    expect(samples.get(`herald_connections{app="${alpha.id}"}`)).toBe(1);
    expect(samples.get(`herald_messages_published_total{app="${alpha.id}"}`)).toBeGreaterThanOrEqual(1);
    expect(samples.get(`herald_messages_delivered_total{app="${alpha.id}"}`)).toBeGreaterThanOrEqual(1);
    expect(samples.get(`herald_messages_published_total{app="${beta.id}"}`) ?? 0).toBe(0);
    expect(samples.get('herald_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect([...samples.keys()].some((k) => k.startsWith('herald_nodejs_eventloop_lag'))).toBe(true);
    // Bounded labels: no series is labelled with a user id or a channel name.
    for (const key of samples.keys()) {
      expect(key).not.toContain('m-user');
      expect(key).not.toContain(channel);
    }
    client.close();
  });
});
