import { Registry } from 'prom-client';
import { MemoryBus, Topics } from '@herald/bus';
import { nodeConfigSchema } from '@herald/config';
import type { ControlAdmin, ControlStore } from '@herald/control';
import { DeliveryCounters } from './dispatcher.js';
import { ControlWebhookEndpointSource } from './endpoints.js';
import { BusLifecycleEvents } from './event-producer.js';
import { decodeEventRecord, type WebhookEvent } from './events.js';
import { MemoryOccupancyCounter } from '@herald/presence';
import { MemoryWebhookStore } from './memory/memory.webhook-store.js';
import { WebhookMetrics } from './metrics.js';
import { pusherBody, toPusherEvent } from './pusher-format.js';
import { realScheduler } from './timers.js';
import { webhookStoreDriver } from './webhooks.module.js';

const base = { id: 'evt_1', time_ms: 5 };

describe('Pusher format', () => {
  it("maps every Pusher event to Pusher's field names and drops the others", () => {
    const ev = (e: Partial<WebhookEvent>): WebhookEvent => ({ ...base, name: 'channel_occupied', ...e });
    expect(toPusherEvent(ev({ channel: 'c' }))).toEqual({ name: 'channel_occupied', channel: 'c' });
    expect(toPusherEvent(ev({ name: 'channel_vacated', channel: 'c' }))).toEqual({
      name: 'channel_vacated',
      channel: 'c',
    });
    expect(
      toPusherEvent(ev({ name: 'member_added', channel: 'presence-x', user_id: 'u', client_id: 's' })),
    ).toEqual({ name: 'member_added', channel: 'presence-x', user_id: 'u' });
    expect(toPusherEvent(ev({ name: 'member_removed', channel: 'presence-x', user_id: 'u' }))).toEqual({
      name: 'member_removed',
      channel: 'presence-x',
      user_id: 'u',
    });
    // data travels as a string; user_id only on presence channels, as Pusher sends it.
    expect(
      toPusherEvent(
        ev({
          name: 'client_event',
          channel: 'private-x',
          data: { a: 1 },
          event: 'client-a',
          client_id: '1.2',
          user_id: 'u',
        }),
      ),
    ).toEqual({
      name: 'client_event',
      channel: 'private-x',
      event: 'client-a',
      data: '{"a":1}',
      socket_id: '1.2',
    });
    expect(
      toPusherEvent(
        ev({
          name: 'client_event',
          channel: 'presence-x',
          data: 'raw',
          event: 'client-b',
          client_id: '1.2',
          user_id: 'u',
        }),
      ),
    ).toEqual({
      name: 'client_event',
      channel: 'presence-x',
      event: 'client-b',
      data: 'raw',
      socket_id: '1.2',
      user_id: 'u',
    });
    for (const name of ['connection_opened', 'connection_closed', 'push_delivered', 'push_failed'] as const)
      expect(toPusherEvent(ev({ name }))).toBeUndefined();
    expect(JSON.parse(pusherBody(9, [ev({ channel: 'c' }), ev({ name: 'push_failed' })]))).toEqual({
      time_ms: 9,
      events: [{ name: 'channel_occupied', channel: 'c' }],
    });
  });

  it('clientEvent carries the optional client-event name into the event record', async () => {
    const bus = new MemoryBus();
    const events = new BusLifecycleEvents(
      bus,
      new MemoryOccupancyCounter(),
      realScheduler,
      nodeConfigSchema.parse({}),
    );
    const seen: WebhookEvent[] = [];
    await bus.subscribe(Topics.EVENTS, {}, (r) => {
      seen.push(decodeEventRecord(r.value)!.event);
      return Promise.resolve();
    });
    events.clientEvent('a', 'presence-room', '123.456', 'u1', '{"x":1}', 'client-typing');
    events.clientEvent('a', 'presence-room', 'c2', 'u2', { y: 2 });
    await events.flush();
    await new Promise<void>((ok) => setImmediate(ok));
    expect(seen[0]).toMatchObject({ name: 'client_event', event: 'client-typing', client_id: '123.456' });
    expect('event' in seen[1]).toBe(false);
    await bus.close();
  });
});

describe('control-plane endpoints', () => {
  it('maps prefixes, format and both live secrets; Pusher mode signs with the app key and secret', async () => {
    const created = new Date(0);
    const admin = {
      webhookEndpoints: () =>
        Promise.resolve([
          {
            id: 'w1',
            appId: 'a',
            url: 'https://x/1',
            events: ['channel_occupied'],
            enabled: true,
            createdAt: created,
            channelPrefixes: ['chat:'],
            format: 'standard' as const,
            signingSecret: 'new',
            signingSecrets: ['new', 'old'],
          },
          {
            id: 'w2',
            appId: 'a',
            url: 'https://x/2',
            events: ['client_event'],
            enabled: false,
            createdAt: created,
            channelPrefixes: [],
            format: 'pusher' as const,
            signingSecret: 's',
            signingSecrets: ['s'],
          },
        ]),
    } as Pick<ControlAdmin, 'webhookEndpoints'> as ControlAdmin;
    const apps = {
      getApp: () => Promise.resolve({ keys: ['key1', 'key2'], secrets: ['secret1'] }),
    } as unknown as ControlStore;
    const list = await new ControlWebhookEndpointSource(admin, apps).endpoints('a');
    expect(list[0]).toMatchObject({
      channelPrefixes: ['chat:'],
      format: 'standard',
      secrets: ['new', 'old'],
    });
    expect(list[0].pusher).toBeUndefined();
    expect(list[1]).toMatchObject({
      enabled: false,
      format: 'pusher',
      pusher: { key: 'key1', secret: 'secret1' },
    });
    expect(list[1].channelPrefixes).toBeUndefined();
  });
});

describe('store driver and metrics', () => {
  it('auto picks sql with a postgres control plane only; sql needs a SQL control plane', () => {
    const cfg = (webhooks: object, control: object) =>
      nodeConfigSchema.parse({ webhooks, control: { ...control } });
    expect(webhookStoreDriver(cfg({}, { driver: 'pglite' }))).toBe('memory');
    expect(webhookStoreDriver(cfg({}, { driver: 'postgres', postgresUrl: 'postgres://h/db' }))).toBe('sql');
    expect(webhookStoreDriver(cfg({ store: 'sql' }, { driver: 'pglite' }))).toBe('sql');
    expect(
      webhookStoreDriver(cfg({ store: 'memory' }, { driver: 'postgres', postgresUrl: 'postgres://h/db' })),
    ).toBe('memory');
    expect(() => webhookStoreDriver(cfg({ store: 'sql' }, { driver: 'config' }))).toThrow(
      /SQL control plane/,
    );
  });

  it('exports deliveries by app and outcome, backlog, oldest age and dead letters', async () => {
    const store = new MemoryWebhookStore();
    const counters = new DeliveryCounters();
    counters.add('a', 'delivered', 3);
    counters.add('b', 'retried', 1);
    const now = Date.now();
    await store.enqueue(
      {
        appId: 'a',
        endpointId: 'e',
        event: { ...base, name: 'channel_occupied' },
        queuedAt: now - 5000,
        bytes: 10,
      },
      1,
    );
    await store.enqueue(
      {
        appId: 'a',
        endpointId: 'e',
        event: { ...base, id: 'evt_2', name: 'channel_occupied' },
        queuedAt: now,
        bytes: 10,
      },
      1,
    );
    const registry = new Registry();
    new WebhookMetrics(counters, store, realScheduler).register(registry);
    const text = await registry.metrics();
    expect(text).toContain('herald_webhook_deliveries_total{app="a",outcome="delivered"} 3');
    expect(text).toContain('herald_webhook_deliveries_total{app="b",outcome="retried"} 1');
    expect(text).toContain('herald_webhook_backlog_events 1');
    expect(text).toContain('herald_webhook_dead_letters 1');
    expect(text).toMatch(/herald_webhook_oldest_pending_age_seconds (4\.\d+|5(\.\d+)?)\n/);
    expect(text).toContain('herald_webhook_retrying_batches 0');
  });
});
