/**
 * Webhook delivery end to end: events on the bus -> dispatcher -> signed POSTs to a real HTTP
 * receiver. Time (retention, backoff, leases) runs on a manual scheduler, so a 72-hour outage
 * takes milliseconds; only the request timeout is real (a bounded wait on a socket).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
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

/**
 * Independent Standard Webhooks verifier (written from the spec, sharing no code with
 * libs/webhooks/src/signing.ts): HMAC-SHA256 over "id.timestamp.body" with the base64-decoded
 * whsec_ secret, compared in constant time against each "v1,<b64>" in the header.
 */
function verifyStandard(secret: string, h: IncomingMessage['headers'], body: string): boolean {
  const id = String(h['webhook-id']);
  const ts = String(h['webhook-timestamp']);
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest();
  return String(h['webhook-signature'])
    .split(' ')
    .some((part) => {
      const [v, sig] = part.split(',');
      const got = Buffer.from(sig ?? '', 'base64');
      return v === 'v1' && got.length === expected.length && timingSafeEqual(got, expected);
    });
}

interface Received {
  id: string;
  events: WebhookEvent[];
  valid: boolean;
}

type Mode = 'ok' | 'down' | 'slow' | 'e500' | 'e410' | 'hold';

/** A real HTTP receiver. `down` closes the listener (connection refused) on the same port. */
class Receiver {
  server!: Server;
  port = 0;
  mode: Mode = 'ok';
  slowHits = 0;
  readonly all: Received[] = [];
  readonly seen = new Set<string>();
  /** De-duplicated by webhook-id, as a receiver should. */
  readonly unique: Received[] = [];
  private waiters: (() => void)[] = [];
  held: ServerResponse[] = [];
  constructor(private readonly secret: string) {}

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (this.mode === 'slow') {
          this.slowHits++; // never answers: the dispatcher's timeout fires
          this.waiters.splice(0).forEach((w) => w());
          return;
        }
        const r: Received = {
          id: String(req.headers['webhook-id']),
          events: (JSON.parse(body) as { events: WebhookEvent[] }).events,
          valid: verifyStandard(this.secret, req.headers, body),
        };
        this.all.push(r);
        if (this.mode === 'e500') res.writeHead(500).end();
        else if (this.mode === 'e410') res.writeHead(410).end();
        else {
          if (!this.seen.has(r.id)) {
            this.seen.add(r.id);
            this.unique.push(r);
          }
          if (this.mode === 'hold') this.held.push(res);
          else res.writeHead(200).end();
        }
        this.waiters.splice(0).forEach((w) => w());
      });
    });
    await new Promise<void>((ok) => this.server.listen(port, '127.0.0.1', ok));
    this.port = (this.server.address() as AddressInfo).port;
  }
  async down(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }
  events(): WebhookEvent[] {
    return this.unique.flatMap((r) => r.events);
  }
  /** Resolves when `pred` holds, re-checked on every request the receiver records. */
  async until(pred: () => boolean): Promise<void> {
    while (!pred()) await new Promise<void>((ok) => this.waiters.push(ok));
  }
}

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

function config(over: Partial<WebhooksConfig> = {}): WebhooksConfig {
  const base = nodeConfigSchema.parse({ webhooks: { allowNetworks: ['127.0.0.1'] } }).webhooks;
  return { ...base, requestTimeoutMilliseconds: 300, batchSize: 10, ...over };
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
    const eps = new StaticWebhookEndpointSource(opts.endpoints ?? [endpoint('alpha', recv[0].url)]);
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
      for (const r of recv) if (r.server.listening) await r.down();
    });
    const publish = (app: string, e: WebhookEvent) =>
      bus.publish(Topics.EVENTS, eventKey(app, e), encodeEventRecord({ app, event: e }));
    return { bus, sched, store, recv, eps, d, make, publish, cfg };
  }

  it('delivers signed batches in order; the signature verifies independently', async () => {
    const { recv, publish } = await setup();
    for (let i = 0; i < 25; i++) await publish('alpha', ev('chat:a', i));
    await recv[0].until(() => recv[0].events().length === 25);
    expect(recv[0].all.every((r) => r.valid)).toBe(true);
    expect(recv[0].events().map((e) => (e.data as { seq: number }).seq)).toEqual([...Array(25).keys()]);
    expect(recv[0].unique.length).toBeLessThan(25); // batched
  });

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
    await r.until(() => r.events().length === 30);
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
  });

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
    await r.until(() => r.all.length >= 1);
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
    await r.until(() => r.events().length === 1);
    expect(r.events()[0].id).toBe(dead[0].event.id);
  });

  it('slow, then 500, then 410: retried with the same webhook-id, then the endpoint is disabled', async () => {
    const { recv, publish, sched, d, store } = await setup();
    const r = recv[0];
    r.mode = 'slow';
    await publish('alpha', ev('x', 1));
    await r.until(() => r.slowHits === 1);
    await d.idle(); // the real 300 ms request timeout fired: a failed attempt, retry scheduled
    r.mode = 'e500';
    await sched.advance(60_000); // several retries answered 500
    await r.until(() => r.all.length >= 1);
    await d.idle();
    const failed = r.all.length;
    r.mode = 'e410';
    await sched.advance(3_600_000);
    await r.until(() => r.all.length > failed);
    await d.idle();
    expect(new Set(r.all.map((x) => x.id)).size).toBe(1); // one webhook-id across every retry
    expect(await store.isDisabled('alpha', 'ep_alpha')).toBe(true);
    expect((await store.listDeadLetters('alpha', 10))[0].reason).toBe('gone');
    await publish('alpha', ev('x', 2));
    const before = r.all.length;
    await sched.advance(3_600_000);
    await d.idle();
    expect(r.all).toHaveLength(before);
  });

  it("app A's receiver never sees app B's events; a dead endpoint does not delay another", async () => {
    const a = new Receiver(SECRET);
    const b = new Receiver(SECRET);
    await a.start();
    await b.start();
    const { publish } = await setup({
      receivers: [a, b],
      endpoints: [endpoint('alpha', a.url), endpoint('beta', b.url)],
    });
    a.mode = 'slow';
    for (let i = 0; i < 5; i++) await publish('beta', ev('same', i));
    for (let i = 0; i < 5; i++) await publish('alpha', ev('same', i));
    await b.until(() => b.events().length === 5);
    expect(a.unique).toHaveLength(0);
    a.mode = 'ok';
  });

  it('a dispatcher killed mid-delivery and replaced delivers nothing twice and loses nothing', async () => {
    const { recv, publish, sched, d, make, cfg } = await setup();
    const r = recv[0];
    r.mode = 'hold';
    for (let i = 0; i < 5; i++) await publish('alpha', ev('k', i));
    await r.until(() => r.all.length === 1);
    await d.stop({ abort: true }); // the crash: its lease stays in the store
    for (const res of r.held.splice(0)) res.destroy();
    r.mode = 'ok';
    const d2 = make('d2');
    await d2.start();
    for (let i = 5; i < 10; i++) await publish('alpha', ev('k', i));
    await sched.advance(cfg.requestTimeoutMilliseconds * 3 + 1); // d1's lease expires
    await r.until(() => r.events().length === 10);
    await d2.stop();
    expect(r.all.length).toBeGreaterThan(r.unique.length); // the cut batch was resent under the same id
    expect(r.events().map((e) => (e.data as { seq: number }).seq)).toEqual([...Array(10).keys()]);
  });

  it('refuses 127.0.0.1 and 169.254.169.254 unless allow-listed', async () => {
    const r = new Receiver(SECRET);
    await r.start();
    cleanup.push(() => r.down());
    const strict = new NodeHttpWebhookSender(new AddressPolicy([]));
    const send = (s: NodeHttpWebhookSender, url: string) =>
      s.send({ url, headers: {}, body: '{}', timeoutMs: 300 });
    expect((await send(strict, r.url)).kind).toBe('blocked');
    expect((await send(strict, 'http://169.254.169.254/latest/meta-data')).kind).toBe('blocked');
    expect((await send(strict, 'http://[::ffff:127.0.0.1]/')).kind).toBe('blocked');
    // A public-looking name resolving to a private address is refused too (checked on the address).
    const rebinding = new NodeHttpWebhookSender(new AddressPolicy([]), () => Promise.resolve(['10.1.2.3']));
    expect((await send(rebinding, 'http://hooks.example.com/')).kind).toBe('blocked');
    const allowed = new NodeHttpWebhookSender(new AddressPolicy(['127.0.0.1/32']));
    expect(await send(allowed, r.url)).toEqual({ kind: 'response', status: 200 });
  });

  it('documented test vector (docs/webhooks.md)', () => {
    const h = standardHeaders(
      [SECRET],
      'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
      1674087231,
      '{"test": 2432232314}',
    );
    expect(verifyStandard(SECRET, h, '{"test": 2432232314}')).toBe(true);
    expect(h['webhook-signature']).toBe('v1,SJVF30Kpi2mR/9mMIvIkhtG4Iz8hWa0S4q2Yt1caIO0=');
  });
});
