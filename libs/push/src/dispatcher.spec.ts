// The library's index first: the dispatcher's own imports (webhooks → core) lead back to it.
import './index.js';
import type { Bus } from '@herald/bus';
import { MemoryBus, Topics } from '@herald/bus';
import { nodeConfigSchema } from '@herald/config';
import type { DeviceRecord, DeviceStore, NewPushDeadLetter, PushDeadLetterStore } from '@herald/control';
import type { PresenceRegistry } from '@herald/presence';
import { MAX_RETRY_AFTER_MS, PushDispatcher, type PushOutcomeReport } from './dispatcher.js';
import { MemoryPushStateStore } from './memory/memory.push-state-store.js';
import { PushMetrics } from './metrics.js';
import { decodePushJob, encodePushJob, pushJobKey, type PushJob } from './push-job.js';
import type { PushSender, SendOutcome } from './senders/push-sender.js';

const NOW = 1_000_000;

// Local helpers: @herald/testing pulls in the runtime, which imports this library (an import cycle).
class ManualClock {
  private t: number;
  constructor(start: number) {
    this.t = start;
  }
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Entries with event-driven waits (bounded by a timeout). */
class EventLog<T> {
  readonly entries: T[] = [];
  private readonly waiters = new Set<{ match: (e: T) => boolean; resolve: (e: T) => void }>();
  push(e: T): void {
    this.entries.push(e);
    for (const w of [...this.waiters])
      if (w.match(e)) {
        this.waiters.delete(w);
        w.resolve(e);
      }
  }
  wait(match: (e: T) => boolean, timeoutMs = 5000): Promise<T> {
    const found = this.entries.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const w = { match, resolve: (e: T) => (clearTimeout(t), resolve(e)) };
      const t = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error('no matching entry'));
      }, timeoutMs);
      this.waiters.add(w);
    });
  }
}

function device(token: string, platform: 'apns' | 'fcm' = 'apns'): DeviceRecord {
  return {
    appId: 'acme',
    platform,
    token,
    userId: 'u1',
    topics: [],
    createdAt: new Date(0),
    updatedAt: new Date(0),
  };
}

function job(over: Partial<PushJob> = {}): PushJob {
  return {
    v: 1,
    id: 'msg_1',
    app: 'acme',
    user: 'u1',
    policy: 'always',
    at: NOW,
    attempt: 0,
    push: { title: 't' },
    ...over,
  };
}

function setup(opts: { online?: boolean; answers?: SendOutcome[]; devices?: DeviceRecord[] } = {}) {
  const published: { topic: string; key: string; value: Buffer }[] = [];
  const bus = {
    publish: async (topic: string, key: string, value: Buffer) => void published.push({ topic, key, value }),
  } as unknown as Bus;
  let list = opts.devices ?? [device('aa')];
  const devices = {
    listDevices: async () => list,
    deleteDevice: async (_a: string, _p: string, token: string) => {
      const before = list.length;
      list = list.filter((d) => d.token !== token);
      return list.length < before;
    },
  } as unknown as DeviceStore;
  const dead: NewPushDeadLetter[] = [];
  const deadLetters = {
    addDeadLetter: async (_a: string, e: NewPushDeadLetter) => void dead.push(e),
  } as unknown as PushDeadLetterStore;
  const presence = { isUserOnline: async () => opts.online ?? false } as unknown as PresenceRegistry;
  const answers = [...(opts.answers ?? [])];
  const sends: string[] = [];
  const sender: PushSender = {
    send: async (d) => {
      sends.push(d.token);
      return answers.shift() ?? { kind: 'sent' };
    },
    close: async () => undefined,
  };
  const clock = new ManualClock(NOW);
  const state = new MemoryPushStateStore(clock.now);
  const config = nodeConfigSchema.parse({
    push: { maxAttempts: 3, backoffInitialMilliseconds: 100, backoffMaxMilliseconds: 5000 },
  }).push;
  const outcomes: PushOutcomeReport[] = [];
  const dispatcher = new PushDispatcher({
    bus,
    presence,
    devices,
    deadLetters,
    state,
    senders: { apns: sender, fcm: sender },
    config,
    metrics: new PushMetrics(),
    now: clock.now,
    random: () => 0.5,
    schedulerIntervalMs: 0,
  });
  dispatcher.listeners.add((o) => outcomes.push(o));
  /** Jobs the scheduler moved back onto the Bus. */
  const released = () =>
    published.filter((p) => p.topic === Topics.PUSH).map((p) => decodePushJob(p.value) as PushJob);
  /** What is parked now (peeked without claiming). */
  const parked = async () => state.listParked('acme', 100);
  return { dispatcher, published, dead, sends, outcomes, state, clock, released, parked, list: () => list };
}

describe('PushDispatcher', () => {
  it('skips an online user under the offline policy, and sends when offline', async () => {
    const online = setup({ online: true });
    await online.dispatcher.handle(job({ policy: 'offline' }));
    expect(online.sends).toEqual([]);
    expect(online.outcomes).toEqual([expect.objectContaining({ outcome: 'skipped', reason: 'online' })]);
    const offline = setup();
    await offline.dispatcher.handle(job({ policy: 'offline' }));
    expect(offline.sends).toEqual(['aa']);
  });

  it('parks an unacked job for its delay without waiting, then sends only without an acknowledgement', async () => {
    const s = setup({ online: true });
    await s.dispatcher.handle(job({ policy: 'unacked', delayMs: 3000, at: NOW - 1000 }));
    // The handler returned at once: nothing sent, the job parked until its time.
    expect(s.sends).toEqual([]);
    expect(await s.parked()).toEqual([{ id: expect.any(String), dueAt: NOW + 2000 }]);
    expect(s.outcomes.map((o) => o.outcome)).toEqual(['parked']);
    s.clock.advance(1999);
    expect(await s.dispatcher.releaseDue()).toBe(0);
    s.clock.advance(1);
    expect(await s.dispatcher.releaseDue()).toBe(1);
    expect(await s.parked()).toEqual([]);
    const [due] = s.released();
    expect(due).toMatchObject({ id: 'msg_1', due: true });
    await s.dispatcher.handle(due);
    expect(s.sends).toEqual(['aa']);
    await s.state.ack('acme', 'u1', 'msg_2', 60_000);
    await s.dispatcher.handle(job({ id: 'msg_2', policy: 'unacked', delayMs: 3000, due: true }));
    expect(s.sends).toEqual(['aa']);
    expect(s.outcomes.at(-1)).toMatchObject({ outcome: 'skipped', reason: 'acked' });
  });

  it('parks a redelivered job once', async () => {
    const s = setup();
    const j = job({ policy: 'unacked', delayMs: 3000 });
    await s.dispatcher.handle(j);
    await s.dispatcher.handle(j);
    expect(await s.parked()).toHaveLength(1);
  });

  it('does not push a device twice when a job is handled again', async () => {
    const s = setup();
    await s.dispatcher.handle(job());
    await s.dispatcher.handle(job());
    expect(s.sends).toEqual(['aa']);
    expect(s.outcomes.map((o) => o.outcome)).toEqual(['sent', 'duplicate']);
  });

  it('parks a temporary failure with backoff no sooner than Retry-After, for the failed device only', async () => {
    const s = setup({
      devices: [device('aa'), device('bb')],
      answers: [{ kind: 'retry', reason: 'rate_limited', detail: '429', retryAfterMs: 3000 }],
    });
    await s.dispatcher.handle(job());
    const [entry] = await s.parked();
    expect(entry.dueAt).toBeGreaterThanOrEqual(NOW + 3000);
    expect(entry.dueAt).toBeLessThanOrEqual(NOW + 5000);
    s.clock.advance(entry.dueAt - NOW);
    expect(await s.dispatcher.releaseDue()).toBe(1);
    const [retry] = s.released();
    expect(retry).toMatchObject({ attempt: 1, devices: ['apns:aa'], due: true });
    // The retry sends the failed device again (the other one was sent).
    await s.dispatcher.handle(retry);
    expect(s.sends).toEqual(['aa', 'bb', 'aa']);
  });

  it('honours a Retry-After longer than the backoff cap (30 s over a 5 s cap)', async () => {
    const s = setup({
      answers: [{ kind: 'retry', reason: 'rate_limited', detail: 'APNs 429', retryAfterMs: 30_000 }],
    });
    await s.dispatcher.handle(job());
    expect(await s.parked()).toEqual([{ id: expect.any(String), dueAt: NOW + 30_000 }]);
    s.clock.advance(29_999);
    expect(await s.dispatcher.releaseDue()).toBe(0);
    s.clock.advance(1);
    expect(await s.dispatcher.releaseDue()).toBe(1);
    await s.dispatcher.handle(s.released()[0]);
    expect(s.sends).toEqual(['aa', 'aa']);
  });

  it('dead-letters a job whose Retry-After is over the maximum', async () => {
    const s = setup({
      answers: [
        {
          kind: 'retry',
          reason: 'rate_limited',
          detail: 'APNs 429',
          retryAfterMs: MAX_RETRY_AFTER_MS + 1000,
        },
      ],
    });
    await s.dispatcher.handle(job());
    expect(await s.parked()).toEqual([]);
    expect(s.dead).toEqual([
      expect.objectContaining({
        reason: 'rate_limited',
        lastError: expect.stringMatching(/Retry-After 3601 s/),
      }),
    ]);
  });

  it('dead-letters after maxAttempts and on a permanent failure', async () => {
    const s = setup({ answers: [{ kind: 'retry', reason: 'provider_error', detail: 'APNs 503' }] });
    await s.dispatcher.handle(job({ attempt: 2 }));
    expect(await s.parked()).toEqual([]);
    expect(s.dead).toEqual([
      expect.objectContaining({ reason: 'retries_exhausted', attempts: 3, lastError: 'APNs 503' }),
    ]);
    expect(s.published.some((p) => p.topic === 'herald.push.dlq')).toBe(true);
    const p = setup({ answers: [{ kind: 'failed', reason: 'no_credentials', detail: 'none' }] });
    await p.dispatcher.handle(job());
    expect(p.dead).toEqual([expect.objectContaining({ reason: 'no_credentials' })]);
  });

  it('deletes a token the provider reports gone and emits push_failed', async () => {
    const s = setup({ answers: [{ kind: 'gone', reason: 'unregistered', detail: 'APNs 410' }] });
    await s.dispatcher.handle(job());
    expect(s.list()).toEqual([]);
    const events = s.published
      .filter((x) => x.topic === Topics.EVENTS)
      .map((x) => JSON.parse(x.value.toString()));
    expect(events).toEqual([
      expect.objectContaining({
        app: 'acme',
        event: expect.objectContaining({ name: 'push_failed', reason: 'unregistered' }),
      }),
    ]);
  });

  it("retries a device busy with another dispatcher's claim without spending an attempt", async () => {
    const s = setup();
    await s.state.begin('acme', 'msg_1', 'apns:aa', 60_000);
    await s.dispatcher.handle(job({ attempt: 2 }));
    expect(s.sends).toEqual([]);
    expect(await s.parked()).toHaveLength(1);
    s.clock.advance(60_000);
    await s.dispatcher.releaseDue();
    expect(s.released()).toEqual([expect.objectContaining({ attempt: 2, devices: ['apns:aa'] })]);
    expect(s.dead).toEqual([]);
  });
});

describe('PushDispatcher on one Bus partition', () => {
  function recordingSender(answer: (d: DeviceRecord) => SendOutcome, sends: EventLog<string>): PushSender {
    return {
      send: async (d) => {
        sends.push(`${d.appId}:${d.token}`);
        return answer(d);
      },
      close: async () => undefined,
    };
  }

  it("does not let one app's throttled job delay another app's push on the same partition", async () => {
    const clock = new ManualClock(NOW);
    const bus = new MemoryBus({ partitions: 1 });
    const sends = new EventLog<string>();
    const outcomes = new EventLog<PushOutcomeReport>();
    const throttled = new Set(['slowapp:aa']);
    const sender = recordingSender((d) => {
      const key = `${d.appId}:${d.token}`;
      if (throttled.delete(key))
        return { kind: 'retry', reason: 'rate_limited', detail: 'APNs 429', retryAfterMs: 30_000 };
      return { kind: 'sent' };
    }, sends);
    const devices = {
      listDevices: async (appId: string, user: string) => [{ ...device('aa'), appId, userId: user }],
    } as unknown as DeviceStore;
    const state = new MemoryPushStateStore(clock.now);
    const dispatcher = new PushDispatcher({
      bus,
      presence: { isUserOnline: async () => false } as unknown as PresenceRegistry,
      devices,
      deadLetters: { addDeadLetter: async () => undefined } as unknown as PushDeadLetterStore,
      state,
      senders: { apns: sender, fcm: sender },
      config: nodeConfigSchema.parse({ push: { backoffMaxMilliseconds: 5000 } }).push,
      metrics: new PushMetrics(),
      now: clock.now,
      random: () => 0.5,
      schedulerIntervalMs: 0,
    });
    dispatcher.listeners.add((o) => outcomes.push(o));
    await dispatcher.start();
    try {
      const a = job({ id: 'msg_a', app: 'slowapp', user: 'ua' });
      const b = job({ id: 'msg_b', app: 'fastapp', user: 'ub' });
      // A's first send is refused with Retry-After: 30 (a minute-long one is the same), then B is published.
      await bus.publish(Topics.PUSH, pushJobKey(a.app, a.user), encodePushJob(a));
      await bus.publish(Topics.PUSH, pushJobKey(b.app, b.user), encodePushJob(b));
      // B is sent while A waits, with no time passing on the dispatcher's clock.
      await outcomes.wait((o) => o.messageId === 'msg_b' && o.outcome === 'sent');
      expect(clock.now()).toBe(NOW);
      expect(sends.entries).toEqual(['slowapp:aa', 'fastapp:aa']);
      expect(await state.listParked('slowapp', 10)).toEqual([
        { id: expect.any(String), dueAt: NOW + 30_000 },
      ]);
      // A is sent again once 30 s passed, not before.
      clock.advance(29_999);
      expect(await dispatcher.releaseDue()).toBe(0);
      clock.advance(1);
      expect(await dispatcher.releaseDue()).toBe(1);
      await outcomes.wait((o) => o.messageId === 'msg_a' && o.outcome === 'sent');
      expect(sends.entries).toEqual(['slowapp:aa', 'fastapp:aa', 'slowapp:aa']);
    } finally {
      await dispatcher.stop();
      await bus.close();
    }
  });

  it('moves due jobs with its own timer', async () => {
    const clock = new ManualClock(NOW);
    const bus = new MemoryBus({ partitions: 1 });
    const sends = new EventLog<string>();
    const outcomes = new EventLog<PushOutcomeReport>();
    const state = new MemoryPushStateStore(clock.now);
    const dispatcher = new PushDispatcher({
      bus,
      presence: { isUserOnline: async () => false } as unknown as PresenceRegistry,
      devices: { listDevices: async () => [device('aa')] } as unknown as DeviceStore,
      deadLetters: { addDeadLetter: async () => undefined } as unknown as PushDeadLetterStore,
      state,
      senders: {
        apns: recordingSender(() => ({ kind: 'sent' }), sends),
        fcm: recordingSender(() => ({ kind: 'sent' }), sends),
      },
      config: nodeConfigSchema.parse({}).push,
      metrics: new PushMetrics(),
      now: clock.now,
      schedulerIntervalMs: 5,
    });
    dispatcher.listeners.add((o) => outcomes.push(o));
    await dispatcher.start();
    try {
      const j = job({ policy: 'unacked', delayMs: 10_000 });
      await bus.publish(Topics.PUSH, pushJobKey(j.app, j.user), encodePushJob(j));
      await outcomes.wait((o) => o.outcome === 'parked');
      clock.advance(10_000);
      expect(await sends.wait((x) => x === 'acme:aa')).toBe('acme:aa');
    } finally {
      await dispatcher.stop();
      await bus.close();
    }
  });
});
