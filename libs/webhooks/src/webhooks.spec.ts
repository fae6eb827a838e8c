import { createHmac } from 'node:crypto';
import { MemoryBus, Topics } from '@herald/bus';
import { nodeConfigSchema } from '@herald/config';
import type { WebhookRecord } from '@herald/control';
import { BusLifecycleEvents } from './event-producer.js';
import { WebhookInterest } from './interest.js';
import { decodeEventRecord } from './events.js';
import { MemoryOccupancyCounter, MemoryOccupancyData } from '@herald/presence';
import { parseRetryAfter } from './sender.js';
import { pusherHeaders } from './signing.js';
import { AddressPolicy } from './ssrf.js';
import { WebhookDispatcher } from './dispatcher.js';
import type { Scheduler } from './timers.js';

class Timers implements Scheduler {
  t = 0;
  pending: { at: number; fn: () => void }[] = [];
  now = () => this.t;
  setTimer(fn: () => void, ms: number) {
    const e = { at: this.t + ms, fn };
    this.pending.push(e);
    return () => (this.pending = this.pending.filter((x) => x !== e));
  }
  advance(ms: number) {
    this.t += ms;
    const due = this.pending.filter((x) => x.at <= this.t);
    this.pending = this.pending.filter((x) => x.at > this.t);
    due.forEach((x) => x.fn());
  }
}

describe('AddressPolicy', () => {
  const strict = new AddressPolicy([]);
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '100.64.0.1',
    '169.254.169.254',
    '0.0.0.0',
    '::1',
    'fe80::1',
    'fd00:ec2::254',
    '::ffff:127.0.0.1',
    '::ffff:a9fe:a9fe',
  ])('refuses %s', (ip) => expect(strict.refusal(ip)).toBeDefined());
  it.each(['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946', '172.32.0.1'])('allows %s', (ip) =>
    expect(strict.refusal(ip)).toBeUndefined(),
  );
  it('honours the allow-list', () => {
    const p = new AddressPolicy(['127.0.0.1/32', '10.0.0.0/8']);
    expect(p.refusal('127.0.0.1')).toBeUndefined();
    expect(p.refusal('10.200.0.1')).toBeUndefined();
    expect(p.refusal('127.0.0.2')).toBeDefined();
    expect(p.refusal('169.254.169.254')).toBeDefined();
  });
});

describe('signing and retries', () => {
  it('Pusher mode: hex HMAC-SHA256 of the body with the app secret', () => {
    const body = '{"time_ms":1,"events":[]}';
    const h = pusherHeaders('key1', 'app-secret', body);
    expect(h['X-Pusher-Key']).toBe('key1');
    expect(h['X-Pusher-Signature']).toBe(createHmac('sha256', 'app-secret').update(body).digest('hex'));
  });

  it('Retry-After: seconds or an HTTP date', () => {
    expect(parseRetryAfter('120', 0)).toBe(120_000);
    expect(parseRetryAfter(new Date(60_000).toUTCString(), 0)).toBe(60_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
  });

  it('full jitter below a doubling ceiling, never sooner than Retry-After, capped', () => {
    const config = {
      ...nodeConfigSchema.parse({}).webhooks,
      backoffInitialMilliseconds: 1000,
      backoffMaxMilliseconds: 8000,
    };
    let r = 0.999;
    const d = new WebhookDispatcher({
      bus: new MemoryBus(),
      store: undefined as never,
      endpoints: undefined as never,
      sender: undefined as never,
      scheduler: new Timers(),
      config,
      random: () => r,
    });
    expect(d.backoff(1)).toBe(999);
    expect(d.backoff(3)).toBe(3996);
    expect(d.backoff(10)).toBe(7992);
    r = 0;
    expect(d.backoff(5)).toBe(0);
    expect(d.backoff(5, 5000)).toBe(5000);
    expect(d.backoff(5, 100_000)).toBe(8000);
  });
});

describe('BusLifecycleEvents', () => {
  async function setup(debounce: number) {
    const bus = new MemoryBus();
    const timers = new Timers();
    const config = nodeConfigSchema.parse({ webhooks: { occupancyDebounceMilliseconds: debounce } });
    const events = new BusLifecycleEvents(bus, new MemoryOccupancyCounter(), timers, config);
    const seen: string[] = [];
    await bus.subscribe(Topics.EVENTS, {}, (r) => {
      const rec = decodeEventRecord(r.value)!;
      seen.push(`${rec.app}:${rec.event.name}:${rec.event.channel ?? ''}`);
      return Promise.resolve();
    });
    const settle = async () => {
      await events.flush();
      await new Promise<void>((ok) => setImmediate(ok));
    };
    return { bus, timers, events, seen, settle };
  }

  it('first and last subscriber; a reconnect inside the window sends no vacated/occupied pair', async () => {
    const { events, timers, seen, settle, bus } = await setup(5000);
    events.subscribed('a', 'room', 'c1', 'u1');
    events.subscribed('a', 'room', 'c2', 'u1');
    await settle();
    expect(seen).toEqual(['a:channel_occupied:room', 'a:member_added:room']);
    events.unsubscribed('a', 'room', 'c1', 'u1');
    events.unsubscribed('a', 'room', 'c2', 'u1');
    await settle();
    timers.advance(2000);
    events.subscribed('a', 'room', 'c3', 'u1'); // reconnect within 5 s
    await settle();
    timers.advance(10_000);
    await settle();
    expect(seen).toEqual(['a:channel_occupied:room', 'a:member_added:room']);
    events.unsubscribed('a', 'room', 'c3', 'u1');
    await settle();
    timers.advance(5000);
    await settle();
    expect(seen.slice(2)).toEqual(['a:member_removed:room', 'a:channel_vacated:room']);
    await bus.close();
  });

  it("a dead gateway's swept keys are announced once, after the window, unless subscribed again", async () => {
    const bus = new MemoryBus();
    const timers = new Timers();
    const config = nodeConfigSchema.parse({ webhooks: { occupancyDebounceMilliseconds: 1000 } });
    // Two gateways on one counter data: `dead` stops heartbeating; `live` sweeps.
    const data = new MemoryOccupancyData();
    const counter = (node: string) =>
      new MemoryOccupancyCounter({ node, leaseMs: 3000, now: () => timers.now(), data });
    const dead = new BusLifecycleEvents(bus, counter('dead'), timers, config);
    const liveCounter = counter('live');
    const live = new BusLifecycleEvents(bus, liveCounter, timers, config);
    const seen: string[] = [];
    await bus.subscribe(Topics.EVENTS, {}, (r) => {
      const { app, event } = decodeEventRecord(r.value)!;
      seen.push(`${app}:${event.name}:${event.channel ?? ''}${event.user_id ? `:${event.user_id}` : ''}`);
      return Promise.resolve();
    });
    const settle = async () => {
      await Promise.all([dead.flush(), live.flush()]);
      await new Promise<void>((ok) => setImmediate(ok));
    };
    dead.subscribed('a', 'p', 'c1', 'u1');
    dead.subscribed('a', 'q', 'c1');
    live.subscribed('a', 'shared', 'c2');
    dead.subscribed('a', 'shared', 'c1');
    await settle();
    expect(seen.sort()).toEqual([
      'a:channel_occupied:p',
      'a:channel_occupied:q',
      'a:channel_occupied:shared',
      'a:member_added:p:u1',
    ]);
    seen.length = 0;
    timers.advance(3001);
    await liveCounter.heartbeat();
    const swept = await liveCounter.sweep();
    expect(swept.map((v) => v.key).sort()).toEqual(['c:p', 'c:q', 'm:p\u0000u1']);
    live.swept(swept);
    live.subscribed('a', 'q', 'c3'); // someone subscribes to q again within the window
    await settle();
    timers.advance(1000);
    await settle();
    expect(seen).toEqual(['a:member_removed:p:u1', 'a:channel_vacated:p']);
    live.swept(swept); // a second report changes nothing: the flag was cleared once
    timers.advance(1000);
    await settle();
    expect(seen).toHaveLength(2);
    await bus.close();
  });

  it('apps never share counts', async () => {
    const { events, seen, settle, bus } = await setup(0);
    events.subscribed('a', 'room', 'c1');
    events.subscribed('b', 'room', 'c1');
    await settle();
    expect(seen.sort()).toEqual(['a:channel_occupied:room', 'b:channel_occupied:room']);
    await bus.close();
  });
});

describe('WebhookInterest', () => {
  const hook = (over: Partial<WebhookRecord>): WebhookRecord => ({
    id: 'w1',
    appId: 'a',
    url: 'https://example.com/hook',
    events: ['channel_occupied', 'channel_vacated', 'connection_opened'],
    enabled: true,
    createdAt: new Date(0),
    ...over,
  });

  it('produces only what an enabled endpoint wants, reading the endpoints once per TTL', async () => {
    let t = 0;
    let reads = 0;
    let list: WebhookRecord[] = [];
    const interest = new WebhookInterest(
      {
        listWebhooks: () => {
          reads++;
          return Promise.resolve(list);
        },
      },
      2000,
      () => t,
    );
    expect(await interest.wants('a', { name: 'channel_occupied', channel: 'x' })).toBe(false);
    list = [
      hook({ channelPrefixes: ['chat:'] }),
      hook({ id: 'w2', events: ['member_added'], enabled: false }),
      hook({ id: 'w3', events: ['connection_opened'], format: 'pusher' }),
    ];
    // Cached: the empty list holds until the TTL has passed.
    expect(await interest.wants('a', { name: 'channel_occupied', channel: 'chat:x' })).toBe(false);
    expect(reads).toBe(1);
    t += 2000;
    expect(await interest.wants('a', { name: 'channel_occupied', channel: 'chat:x' })).toBe(true);
    expect(await interest.wants('a', { name: 'channel_occupied', channel: 'news:x' })).toBe(false);
    expect(await interest.wants('a', { name: 'member_added', channel: 'chat:x' })).toBe(false);
    expect(await interest.wants('a', { name: 'client_event', channel: 'chat:x' })).toBe(false);
    // A Pusher-format endpoint never gets connection events; w1 (standard) does.
    expect(await interest.wants('a', { name: 'connection_opened' })).toBe(true);
    expect(reads).toBe(2);
  });

  it('fails open when the control plane cannot be read', async () => {
    const interest = new WebhookInterest({ listWebhooks: () => Promise.reject(new Error('down')) });
    expect(await interest.wants('a', { name: 'channel_occupied', channel: 'x' })).toBe(true);
  });

  it('the producer skips unwanted events but keeps counting', async () => {
    const bus = new MemoryBus();
    const config = nodeConfigSchema.parse({ webhooks: { occupancyDebounceMilliseconds: 0 } });
    let list: WebhookRecord[] = [];
    let t = 0;
    const interest = new WebhookInterest({ listWebhooks: () => Promise.resolve(list) }, 1000, () => t);
    const counter = new MemoryOccupancyCounter();
    const events = new BusLifecycleEvents(bus, counter, new Timers(), config, interest);
    const seen: string[] = [];
    await bus.subscribe(Topics.EVENTS, {}, (r) => {
      const rec = decodeEventRecord(r.value)!;
      seen.push(`${rec.event.name}:${rec.event.channel ?? ''}`);
      return Promise.resolve();
    });
    events.subscribed('a', 'room', 'c1');
    events.clientEvent('a', 'room', 'c1', 'u1', { x: 1 });
    await events.flush();
    expect(await counter.count('a', 'c:room')).toBe(1);
    list = [hook({ events: ['channel_vacated'] })];
    t += 1000;
    events.unsubscribed('a', 'room', 'c1');
    await events.flush();
    await new Promise<void>((ok) => setImmediate(ok));
    expect(seen).toEqual(['channel_vacated:room']);
    await bus.close();
  });
});
