import { ErrorCode } from '@herald/protocol';
import { startTestNode, uniqueId, type TestNode } from '@herald/testing';

// Ordering and exactly-once delivery from the publisher's side: concurrent publishers into one
// channel, and publishes retried with an idempotency key.

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode();
});

afterAll(async () => {
  await node?.close();
});

describe('ordering under concurrent publishers', () => {
  it('gives every subscriber the same gap-free, strictly increasing sequence', async () => {
    const { alpha } = node.apps;
    const channel = `stream:${uniqueId('ordered')}`;
    const PUBLISHERS = 4;
    const EACH = 50;
    const a = await node.connect(alpha, 'ord-a');
    const b = await node.connect(alpha, 'ord-b');
    const subA = await a.request({ cmd: 'subscribe', channel });
    const subB = await b.request({ cmd: 'subscribe', channel });
    expect(subA.offset).toBe(0);

    const rest = node.rest(alpha);
    const results = await Promise.all(
      Array.from({ length: PUBLISHERS }, async (_, p) => {
        const offsets: number[] = [];
        for (let i = 0; i < EACH; i++) offsets.push((await rest.publish(channel, { p, i })).offset ?? -1);
        return offsets;
      }),
    );

    const total = PUBLISHERS * EACH;
    const [gotA, gotB] = await Promise.all([a.nextPubs(channel, total), b.nextPubs(channel, total)]);
    const offsetsA = gotA.map((x) => x.offset);
    expect(offsetsA).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(gotB).toEqual(gotA);
    expect(subB.epoch).toBe(subA.epoch);

    // Each publisher's own messages keep its order, and land where the REST answer said.
    for (let p = 0; p < PUBLISHERS; p++) {
      const mine = gotA.filter((x) => (x.data as { p: number }).p === p);
      expect(mine.map((x) => (x.data as { i: number }).i)).toEqual(Array.from({ length: EACH }, (_, i) => i));
      expect(mine.map((x) => x.offset)).toEqual(results[p]);
    }
  });
});

describe('idempotent publish', () => {
  it('returns the first result to a retry with the same key and delivers once (body field and header)', async () => {
    const { alpha } = node.apps;
    const rest = node.rest(alpha);
    const channel = uniqueId('idem');
    const client = await node.connect(alpha, 'idem-user');
    await client.request({ cmd: 'subscribe', channel });

    const key = uniqueId('key');
    const first = await rest.publish(channel, 'once', { idempotencyKey: key });
    const retry = await rest.publish(channel, 'once', { idempotencyKey: key });
    expect(retry).toEqual(first);

    const headerKey = uniqueId('hdr');
    const viaHeader = () =>
      rest.ok('POST', '/publish', {
        body: { channel, data: 'twice?' },
        headers: { 'Idempotency-Key': headerKey },
      });
    const h1 = await viaHeader();
    const h2 = await viaHeader();
    expect(h2).toEqual(h1);

    const delivered = await client.pubsBeforeSentinel(channel, (m) => rest.publish(channel, m));
    expect(delivered.map((p) => p.data)).toEqual(['once', 'twice?']);
  });

  it('answers a concurrent duplicate with the first result or a temporary conflict, never a second publication', async () => {
    const { alpha } = node.apps;
    const rest = node.rest(alpha);
    const channel = uniqueId('idem-race');
    const client = await node.connect(alpha, 'idem-race');
    await client.request({ cmd: 'subscribe', channel });
    const key = uniqueId('key');
    const body = { channel, data: 'raced', idempotency_key: key };
    const answers = await Promise.all([1, 2, 3].map(() => rest.call('POST', '/publish', { body })));
    const ok = answers.filter((r) => r.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const r of ok) expect(r.body).toEqual(ok[0].body);
    for (const r of answers.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(ErrorCode.IDEMPOTENCY_CONFLICT.status);
      expect(r.body).toMatchObject({ error: { code: ErrorCode.IDEMPOTENCY_CONFLICT.code } });
    }
    const delivered = await client.pubsBeforeSentinel(channel, (m) => rest.publish(channel, m));
    expect(delivered.map((p) => p.data)).toEqual(['raced']);
  });

  it('scopes keys per app: the same key in another app publishes independently', async () => {
    const { alpha, beta } = node.apps;
    const channel = uniqueId('idem-shared');
    const key = uniqueId('key');
    const inBeta = await node.connect(beta, 'idem-shared');
    await inBeta.request({ cmd: 'subscribe', channel });

    await node.rest(alpha).publish(channel, 'alpha-1', { idempotencyKey: key });
    await node.rest(alpha).publish(channel, 'alpha-2');
    const betaResult = await node.rest(beta).publish(channel, 'beta', { idempotencyKey: key });
    expect(betaResult.offset).toBe(1);
    const delivered = await inBeta.pubsBeforeSentinel(channel, (m) => node.rest(beta).publish(channel, m));
    expect(delivered).toEqual([{ offset: 1, data: 'beta' }]);
  });
});
