import type { Bus } from '@herald/bus';
import { Topics } from '@herald/bus';
import { nodeConfigSchema } from '@herald/config';
import type { DeviceRecord, DeviceStore, NewPushDeadLetter, PushDeadLetterStore } from '@herald/control';
import type { PresenceRegistry } from '@herald/presence';
import { PushDispatcher, type PushOutcomeReport } from './dispatcher.js';
import { MemoryPushStateStore } from './memory/memory.push-state-store.js';
import { PushMetrics } from './metrics.js';
import { decodePushJob, type PushJob } from './push-job.js';
import type { PushSender, SendOutcome } from './senders/push-sender.js';

const NOW = 1_000_000;

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
  const waits: number[] = [];
  const state = new MemoryPushStateStore(() => NOW);
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
    now: () => NOW,
    random: () => 0.5,
    sleep: async (ms) => void waits.push(ms),
  });
  dispatcher.listeners.add((o) => outcomes.push(o));
  const retries = () =>
    published.filter((p) => p.topic === Topics.PUSH).map((p) => decodePushJob(p.value) as PushJob);
  return { dispatcher, published, dead, sends, waits, outcomes, state, retries, list: () => list };
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

  it('waits for the unacked delay, then sends only without an acknowledgement', async () => {
    const s = setup({ online: true });
    await s.dispatcher.handle(job({ policy: 'unacked', delayMs: 3000, at: NOW - 1000 }));
    expect(s.waits).toEqual([2000]);
    expect(s.sends).toEqual(['aa']);
    await s.state.ack('acme', 'u1', 'msg_2', 60_000);
    await s.dispatcher.handle(job({ id: 'msg_2', policy: 'unacked', delayMs: 3000 }));
    expect(s.sends).toEqual(['aa']);
  });

  it('does not push a device twice when a job is handled again', async () => {
    const s = setup();
    await s.dispatcher.handle(job());
    await s.dispatcher.handle(job());
    expect(s.sends).toEqual(['aa']);
    expect(s.outcomes.map((o) => o.outcome)).toEqual(['sent', 'duplicate']);
  });

  it('re-enqueues a temporary failure with backoff no sooner than Retry-After, for the failed device only', async () => {
    const s = setup({
      devices: [device('aa'), device('bb')],
      answers: [{ kind: 'retry', reason: 'rate_limited', detail: '429', retryAfterMs: 3000 }],
    });
    await s.dispatcher.handle(job());
    const [retry] = s.retries();
    expect(retry).toMatchObject({ attempt: 1, devices: ['apns:aa'] });
    expect(retry.notBefore).toBeGreaterThanOrEqual(NOW + 3000);
    expect(retry.notBefore).toBeLessThanOrEqual(NOW + 5000);
    // The retry waits for its time and sends the failed device again (the other one was sent).
    await s.dispatcher.handle(retry);
    expect(s.waits).toEqual([(retry.notBefore as number) - NOW]);
    expect(s.sends).toEqual(['aa', 'bb', 'aa']);
  });

  it('dead-letters after maxAttempts and on a permanent failure', async () => {
    const s = setup({ answers: [{ kind: 'retry', reason: 'provider_error', detail: 'APNs 503' }] });
    await s.dispatcher.handle(job({ attempt: 2 }));
    expect(s.retries()).toEqual([]);
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
    expect(s.retries()).toEqual([expect.objectContaining({ attempt: 2, devices: ['apns:aa'] })]);
    expect(s.dead).toEqual([]);
  });
});
