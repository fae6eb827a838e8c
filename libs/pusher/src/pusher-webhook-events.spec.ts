import { nodeConfigSchema, type AppConfig } from '@herald/config';
import type { Bus } from '@herald/bus';
import type { ControlAdmin } from '@herald/control';
import type { ServerApiService } from '@herald/core';
import type { LifecycleEvents } from '@herald/presence';
import { decodeEventRecord } from '@herald/webhooks';
import { PusherWebhookEvents } from './pusher-webhook-events.js';

const app = { id: 'a1' } as AppConfig;

function setup(opts: { endpoints?: { events: string[] }[]; windowMs?: number } = {}) {
  const config = nodeConfigSchema.parse({
    env: 'development',
    pusher: { webhookCoalesceMilliseconds: opts.windowMs ?? 20 },
  });
  const published: { key: string; name: string; channel?: string; data?: unknown }[] = [];
  let wake: (() => void) | undefined;
  const bus = {
    publish: (_topic: string, key: string, value: Buffer) => {
      const rec = decodeEventRecord(value)!;
      published.push({ key, name: rec.event.name, channel: rec.event.channel, data: rec.event.data });
      wake?.();
      return Promise.resolve();
    },
  } as unknown as Bus;
  let count = 0;
  let reads = 0;
  const serverApi = {
    subscriptionCount: () => {
      reads++;
      return Promise.resolve(count);
    },
  } as unknown as ServerApiService;
  const admin = opts.endpoints
    ? ({
        listWebhooks: () =>
          Promise.resolve(
            opts.endpoints!.map((e, i) => ({ id: `w${i}`, enabled: true, format: 'pusher', ...e })),
          ),
      } as unknown as ControlAdmin)
    : undefined;
  const hooks = new PusherWebhookEvents(config, serverApi, bus, {} as LifecycleEvents, admin);
  return {
    hooks,
    published,
    setCount: (n: number) => (count = n),
    reads: () => reads,
    /** Resolves at the next publish. */
    next: () => new Promise<void>((resolve) => (wake = resolve)),
  };
}

describe('PusherWebhookEvents', () => {
  it('coalesces subscription count changes per channel and sends only changed counts', async () => {
    const t = setup();
    t.setCount(3);
    let sent = t.next();
    for (let i = 0; i < 3; i++) t.hooks.countChanged(app, 'news');
    await sent;
    expect(t.published).toEqual([{ key: 'a1:news', name: 'subscription_count', channel: 'news', data: 3 }]);
    expect(t.reads()).toBe(1);
    // A channel that emptied inside the next window: 0 is sent.
    t.hooks.countChanged(app, 'news');
    t.setCount(0);
    t.hooks.countChanged(app, 'other');
    sent = t.next();
    await sent;
    expect(t.published.at(-1)).toMatchObject({ name: 'subscription_count', data: 0 });
    t.hooks.onModuleDestroy();
  });

  it('skips presence and user channels, and apps whose endpoints do not want the event', async () => {
    const t = setup({ endpoints: [{ events: ['cache_miss'] }] });
    t.hooks.countChanged(app, 'presence-room');
    t.hooks.countChanged(app, '#alice');
    t.hooks.countChanged(app, 'news');
    const sent = t.next();
    t.hooks.cacheMiss(app, 'cache-a');
    await sent;
    // Only the wanted cache_miss.
    expect(t.published).toEqual([
      { key: 'a1:cache-a', name: 'cache_miss', channel: 'cache-a', data: undefined },
    ]);
    t.hooks.onModuleDestroy();
  });

  it('sends one cache_miss per channel per window', async () => {
    const t = setup({ windowMs: 60_000 });
    let sent = t.next();
    t.hooks.cacheMiss(app, 'cache-a');
    t.hooks.cacheMiss(app, 'cache-a');
    await sent;
    sent = t.next();
    t.hooks.cacheMiss(app, 'cache-b');
    await sent;
    expect(t.published.map((p) => p.channel)).toEqual(['cache-a', 'cache-b']);
  });
});
