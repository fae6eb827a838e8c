/**
 * Webhook delivery end to end: events on the bus -> dispatcher -> signed POSTs to a real HTTP
 * receiver (libs/testing WebhookReceiver). Time (retention, backoff, leases) runs on a manual scheduler, so a 72-hour outage
 * takes milliseconds; only the request timeout is real (a bounded wait on a socket).
 */
import { MemoryBus, Topics } from '@herald/bus';
import { nodeConfigSchema, type WebhooksConfig } from '@herald/config';
import {
  AddressPolicy,
  MemoryWebhookStore,
  NodeHttpWebhookSender,
  SqlWebhookStore,
  StaticWebhookEndpointSource,
  WEBHOOK_DLQ_TOPIC,
  WebhookDispatcher,
  encodeEventRecord,
  eventKey,
  standardHeaders,
  type Scheduler,
  type WebhookEndpoint,
  type WebhookEvent,
  type WebhookStore,
} from '@herald/webhooks';
import { createPgliteDatabase } from '@herald/control/testing';
import { verifyStandardWebhook, WebhookReceiver as Receiver } from '@herald/testing';

/**
 * Manual time: `advance` moves the clock and runs the timers that came due, in order. After each
 * timer it lets the work that timer started settle (a macrotask turn) before moving the clock on,
 * so a timer's follow-up (re-arming the next wake-up) sees the time at which the timer fired.
 */
class ManualScheduler implements Scheduler {
  private t = 1_700_000_000_000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private seq = 0;
  now = (): number => this.t;
  setTimer(fn: () => void, ms: number): () => void {
    const id = ++this.seq;
    this.timers.push({ at: this.t + Math.max(0, ms), fn, id });
    return () => (this.timers = this.timers.filter((x) => x.id !== id));
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
      await new Promise<void>((ok) => setImmediate(ok));
    }
    this.t = end;
  }
}

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

function config(over: Partial<WebhooksConfig> = {}): WebhooksConfig {
  const base = nodeConfigSchema.parse({ webhooks: { allowNetworks: ['127.0.0.1'] } }).webhooks;
  // A generous request timeout: on a loaded machine a PGlite query can hold the event loop long
  // enough for a short timeout to fail a delivery that the manual clock then never retries. The
  // test of slow endpoints sets its own short one.
  return { ...base, requestTimeoutMilliseconds: 10_000, batchSize: 10, ...over };
}

function endpoint(appId: string, url: string, id = `ep_${appId}`): WebhookEndpoint {
  return {
    id,
    appId,
    url,
    events: ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event'],
    enabled: true,
    format: 'standard',
    secrets: [SECRET],
  };
}

let n = 0;
function ev(channel: string, seq: number): WebhookEvent {
  return { id: `evt_${++n}`, name: 'client_event', channel, data: { seq }, time_ms: 0 };
}

/**
 * The same scenarios over each WebhookStore driver: memory (standalone) and SQL on PGlite (the
 * driver a cluster runs on PostgreSQL; here two dispatchers share one database as two replicas
 * or a restarted one would).
 */
const STORES: [string, () => Promise<{ store: WebhookStore; drop(): Promise<void> }>][] = [
  ['memory store', () => Promise.resolve({ store: new MemoryWebhookStore(), drop: () => Promise.resolve() })],
  [
    'SQL store (PGlite)',
    async () => {
      const db = await createPgliteDatabase();
      return { store: new SqlWebhookStore(db.client), drop: () => db.drop() };
    },
  ],
];

describe.each(STORES)('webhooks e2e: %s', (_name, openStore) => {
  const cleanup: (() => Promise<void>)[] = [];
  // The first PGlite database builds the migrated template (initdb in WASM: seconds).
  beforeAll(async () => {
    await (await openStore()).drop();
  }, 60_000);
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function setup(
    opts: { cfg?: Partial<WebhooksConfig>; endpoints?: WebhookEndpoint[]; receivers?: Receiver[] } = {},
  ) {
    const bus = new MemoryBus();
    const sched = new ManualScheduler();
    const { store, drop } = await openStore();
    cleanup.push(drop);
    const recv = opts.receivers ?? [new Receiver(SECRET)];
    for (const r of recv) if (!r.port) await r.start();
    const eps = new StaticWebhookEndpointSource(opts.endpoints ?? [endpoint('alpha', recv[0].url())]);
    const cfg = config(opts.cfg);
    const make = (owner: string) =>
      new WebhookDispatcher({
        bus,
        store,
        endpoints: eps,
        sender: new NodeHttpWebhookSender(new AddressPolicy(cfg.allowNetworks)),
        scheduler: sched,
        config: cfg,
        random: () => 0.5,
        owner,
      });
    const d = make('d1');
    await d.start();
    cleanup.push(async () => {
      await d.stop({ abort: true });
      await bus.close();
      for (const r of recv) if (r.listening) await r.down();
    });
    const publish = (app: string, e: WebhookEvent) =>
      bus.publish(Topics.EVENTS, eventKey(app, e), encodeEventRecord({ app, event: e }));
    return { bus, sched, store, recv, eps, d, make, publish, cfg };
  }

  it('delivers signed batches in order; the signature verifies independently', async () => {
    const { recv, publish } = await setup();
    for (let i = 0; i < 25; i++) await publish('alpha', ev('chat:a', i));
    await recv[0].until(() => recv[0].events().length === 25, '25 events');
    expect(recv[0].all.every((r) => r.valid)).toBe(true);
    expect(recv[0].events().map((e) => (e.data as { seq: number }).seq)).toEqual([...Array(25).keys()]);
    expect(recv[0].unique.length).toBeLessThan(25); // batched
  }, 30_000);

  it('survives a long outage (connection refused) and delivers everything once, in order', async () => {
    const { recv, publish, sched, d, store } = await setup();
    const r = recv[0];
    const port = r.port;
    await r.down();
    for (let i = 0; i < 30; i++) await publish('alpha', ev(`ch${i % 3}`, i));
    // 60 hours of retries, on the manual clock: every timer fires, every attempt is refused.
    for (let h = 0; h < 60 * 4; h++) {
      await sched.advance(15 * 60_000);
      await d.idle();
    }
    expect((await store.stats()).pending).toBe(30);
    await r.start(port);
    await sched.advance(3_600_000);
    await r.until(() => r.events().length === 30, '30 events after the outage');
    const ids = r.events().map((e) => e.id);
    expect(new Set(ids).size).toBe(30);
    for (const ch of ['ch0', 'ch1', 'ch2']) {
      const seqs = r
        .events()
        .filter((e) => e.channel === ch)
        .map((e) => (e.data as { seq: number }).seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    expect((await store.stats()).deadLetters).toBe(0);
  }, 30_000);

  it('dead-letters after the retention, lists and replays', async () => {
    const { recv, publish, sched, d, store, bus } = await setup({ cfg: { retentionHours: 1 } });
    const dlq: unknown[] = [];
    await bus.subscribe(WEBHOOK_DLQ_TOPIC, {}, (rec) => {
      dlq.push(JSON.parse(rec.value.toString()));
      return Promise.resolve();
    });
    const r = recv[0];
    r.mode = 'e500';
    await publish('alpha', ev('x', 1));
    await r.until(() => r.all.length >= 1, 'a first (failed) attempt');
    for (let i = 0; i < 20; i++) {
      await sched.advance(10 * 60_000);
      await d.idle();
    }
    const dead = await store.listDeadLetters('alpha', 10);
    expect(dead).toHaveLength(1);
    expect(dead[0].reason).toBe('retention_exceeded');
    // Also on the dead-letter topic, for operators' tooling.
    expect(dlq).toEqual([
      expect.objectContaining({ app: 'alpha', reason: 'retention_exceeded', webhook: 'ep_alpha' }),
    ]);
    expect((dlq[0] as { event: { id: string } }).event.id).toBe(dead[0].event.id);
    r.mode = 'ok';
    expect(await store.replay('alpha', sched.now())).toBe(1);
    d.kick();
    await r.until(() => r.events().length === 1, 'the replayed event');
    expect(r.events()[0].id).toBe(dead[0].event.id);
  }, 30_000);

  it('slow, then 500, then 410: retried with the same webhook-id, then the endpoint is disabled', async () => {
    const { recv, publish, sched, d, store } = await setup({ cfg: { requestTimeoutMilliseconds: 300 } });
    const r = recv[0];
    r.mode = 'slow';
    await publish('alpha', ev('x', 1));
    await r.until(() => r.slowHits === 1, 'the slow attempt');
    await d.idle(); // the real 300 ms request timeout fired: a failed attempt, retry scheduled
    r.mode = 'e500';
    await sched.advance(60_000); // several retries answered 500
    await r.until(() => r.all.length >= 1, 'an attempt answered 500');
    await d.idle();
    const failed = r.all.length;
    r.mode = 'e410';
    await sched.advance(3_600_000);
    await r.until(() => r.all.length > failed, 'an attempt answered 410');
    await d.idle();
    expect(new Set(r.all.map((x) => x.id)).size).toBe(1); // one webhook-id across every retry
    expect(await store.isDisabled('alpha', 'ep_alpha')).toBe(true);
    expect((await store.listDeadLetters('alpha', 10))[0].reason).toBe('gone');
    await publish('alpha', ev('x', 2));
    const before = r.all.length;
    await sched.advance(3_600_000);
    await d.idle();
    expect(r.all).toHaveLength(before);
  }, 30_000);

  it("a held endpoint never delays another endpoint or app; app A's receiver never sees app B's events", async () => {
    const a1 = new Receiver(SECRET); // alpha's first endpoint: holds every request open
    const a2 = new Receiver(SECRET); // alpha's second endpoint
    const b = new Receiver(SECRET); // beta's endpoint
    for (const r of [a1, a2, b]) await r.start();
    const { publish } = await setup({
      // Long enough that the held request is still open when the others must have been delivered.
      cfg: { requestTimeoutMilliseconds: 30_000 },
      receivers: [a1, a2, b],
      endpoints: [
        { ...endpoint('alpha', a1.url(), 'ep_a1'), events: ['client_event'] },
        { ...endpoint('alpha', a2.url(), 'ep_a2'), events: ['channel_occupied'] },
        endpoint('beta', b.url()),
      ],
    });
    a1.mode = 'hold';
    for (let i = 0; i < 5; i++) await publish('alpha', ev('same', i)); // queued first
    await a1.until(() => a1.held.length === 1, "alpha's first delivery, held open");
    for (let i = 0; i < 5; i++) await publish('beta', ev('same', i));
    await publish('alpha', { id: `evt_${++n}`, name: 'channel_occupied', channel: 'same', time_ms: 0 });
    // A dispatcher that waited for a1's answer before sending anything else would time out here.
    await b.until(() => b.events().length === 5, "beta's 5 events while alpha's request is held");
    await a2.until(() => a2.events().length === 1, "alpha's second endpoint's event while the first is held");
    expect(a1.held).toHaveLength(1); // still unanswered: nothing above waited for it
    expect(a1.all).toHaveLength(1);
    expect(b.events().every((e) => e.channel === 'same' && e.name === 'client_event')).toBe(true);
    expect(new Set(b.events().map((e) => e.id)).size).toBe(5);
    // Tenant isolation: each receiver saw only its own app's events.
    const alphaIds = new Set([...a1.events(), ...a2.events()].map((e) => e.id));
    expect(b.events().some((e) => alphaIds.has(e.id))).toBe(false);
    a1.mode = 'ok';
    a1.release();
    await a1.until(() => a1.events().length === 5, "alpha's 5 events once released");
    expect(a1.events().map((e) => (e.data as { seq: number }).seq)).toEqual([0, 1, 2, 3, 4]);
    expect(a1.events().some((e) => b.events().some((x) => x.id === e.id))).toBe(false);
  }, 30_000);

  it('fairness: slow endpoints of one app take at most maxConcurrentDeliveriesPerApp slots', async () => {
    const slow = new Receiver(SECRET); // alpha's three endpoints, all holding requests open
    const b = new Receiver(SECRET);
    for (const r of [slow, b]) await r.start();
    const { publish } = await setup({
      cfg: {
        requestTimeoutMilliseconds: 30_000,
        maxConcurrentDeliveries: 3,
        maxConcurrentDeliveriesPerApp: 2,
      },
      receivers: [slow, b],
      endpoints: [
        endpoint('alpha', slow.url('/e1'), 'ep_1'),
        endpoint('alpha', slow.url('/e2'), 'ep_2'),
        endpoint('alpha', slow.url('/e3'), 'ep_3'),
        endpoint('beta', b.url()),
      ],
    });
    slow.mode = 'hold';
    await publish('alpha', ev('x', 1)); // queued for alpha's three endpoints
    await slow.until(() => slow.held.length === 2, "alpha's two held deliveries");
    // Three slots, alpha's share is two: the third slot stays free for beta (without the bound
    // alpha's third endpoint would take it and beta would wait for alpha's receivers).
    await publish('beta', ev('y', 1));
    await b.until(() => b.events().length === 1, "beta's event while alpha holds its share");
    expect(slow.all).toHaveLength(2); // alpha's third endpoint was not started
    slow.mode = 'ok';
    slow.release();
    await slow.until(
      () => slow.unique.length === 3,
      "alpha's third endpoint once a slot of its share is free",
    );
    expect(new Set(slow.unique.map((r) => r.path))).toEqual(new Set(['/e1', '/e2', '/e3']));
  }, 30_000);

  it('Retry-After (429, then 503) is honoured: the next attempt comes no sooner', async () => {
    const { recv, publish, sched, d } = await setup();
    const r = recv[0];
    const attemptAt: number[] = [];
    r.respond = () => {
      attemptAt.push(sched.now());
      if (attemptAt.length === 1) return { status: 429, headers: { 'retry-after': '2' } };
      if (attemptAt.length === 2) return { status: 503, headers: { 'retry-after': '3' } };
      return { status: 200 };
    };
    await publish('alpha', ev('x', 1));
    await r.until(() => r.all.length === 1, 'the first attempt (429)');
    await d.idle();
    // The backoff alone would wait 500 ms here (jitter 0.5 x 1 s): Retry-After asks for 2 s.
    await sched.advance(1999);
    await d.idle();
    expect(r.all).toHaveLength(1);
    await sched.advance(1);
    await r.until(() => r.all.length === 2, 'the second attempt (503), 2 s after the first');
    await d.idle();
    await sched.advance(2999);
    await d.idle();
    expect(r.all).toHaveLength(2);
    await sched.advance(1);
    await r.until(() => r.events().length === 1, 'the third attempt, 3 s after the second');
    expect(attemptAt[1] - attemptAt[0]).toBe(2000);
    expect(attemptAt[2] - attemptAt[1]).toBe(3000);
    expect(new Set(r.all.map((x) => x.id)).size).toBe(1);
  }, 30_000);

  it('a 3xx is a failure, retried; its Location is never followed', async () => {
    const target = new Receiver(SECRET); // where the redirect points: must never be hit
    const r = new Receiver(SECRET);
    for (const x of [r, target]) await x.start();
    const { publish, sched, d, store } = await setup({
      receivers: [r, target],
      endpoints: [endpoint('alpha', r.url())],
    });
    r.respond = () => ({ status: 302, headers: { location: target.url() } });
    await publish('alpha', ev('x', 1));
    await r.until(() => r.all.length === 1, 'the first attempt (302)');
    await d.idle();
    expect((await store.stats()).retrying).toBe(1);
    await sched.advance(60_000);
    await r.until(() => r.all.length >= 2, 'a retry after the 302');
    await d.idle();
    expect(new Set(r.all.map((x) => x.id)).size).toBe(1); // the same batch, retried
    expect(target.all).toHaveLength(0);
    r.respond = undefined;
    await sched.advance(3_600_000);
    await r.until(() => r.events().length === 1, 'the delivery once the endpoint answers 200');
    expect(target.all).toHaveLength(0);
  }, 30_000);

  it('a dispatcher killed mid-delivery and replaced delivers nothing twice and loses nothing', async () => {
    const { recv, publish, sched, d, make, cfg } = await setup();
    const r = recv[0];
    r.mode = 'hold';
    for (let i = 0; i < 5; i++) await publish('alpha', ev('k', i));
    await r.until(() => r.all.length === 1, 'a held delivery');
    await d.stop({ abort: true }); // the crash: its lease stays in the store
    for (const res of r.held.splice(0)) res.destroy();
    r.mode = 'ok';
    const d2 = make('d2');
    await d2.start();
    for (let i = 5; i < 10; i++) await publish('alpha', ev('k', i));
    await sched.advance(cfg.requestTimeoutMilliseconds * 3 + 1); // d1's lease expires
    await r.until(() => r.events().length === 10, '10 events after the takeover');
    await d2.stop();
    expect(r.all.length).toBeGreaterThan(r.unique.length); // the cut batch was resent under the same id
    expect(r.events().map((e) => (e.data as { seq: number }).seq)).toEqual([...Array(10).keys()]);
  }, 30_000);

  it('refuses 127.0.0.1 and 169.254.169.254 unless allow-listed', async () => {
    const r = new Receiver(SECRET);
    await r.start();
    cleanup.push(() => r.down());
    const strict = new NodeHttpWebhookSender(new AddressPolicy([]));
    const send = (s: NodeHttpWebhookSender, url: string) =>
      s.send({ url, headers: {}, body: '{}', timeoutMs: 300 });
    expect((await send(strict, r.url())).kind).toBe('blocked');
    expect((await send(strict, 'http://169.254.169.254/latest/meta-data')).kind).toBe('blocked');
    expect((await send(strict, 'http://[::ffff:127.0.0.1]/')).kind).toBe('blocked');
    // A public-looking name resolving to a private address is refused too (checked on the address).
    const rebinding = new NodeHttpWebhookSender(new AddressPolicy([]), () => Promise.resolve(['10.1.2.3']));
    expect((await send(rebinding, 'http://hooks.example.com/')).kind).toBe('blocked');
    const allowed = new NodeHttpWebhookSender(new AddressPolicy(['127.0.0.1/32']));
    expect(await send(allowed, r.url())).toEqual({ kind: 'response', status: 200 });
  }, 30_000);

  it('documented test vector (docs/webhooks.md)', () => {
    const h = standardHeaders(
      [SECRET],
      'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
      1674087231,
      '{"test": 2432232314}',
    );
    expect(verifyStandardWebhook(SECRET, h, '{"test": 2432232314}')).toBe(true);
    expect(h['webhook-signature']).toBe('v1,SJVF30Kpi2mR/9mMIvIkhtG4Iz8hWa0S4q2Yt1caIO0=');
  }, 30_000);
});
