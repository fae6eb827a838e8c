/**
 * Pusher connections feed the same lifecycle events as native ones (the webhook source): their
 * subscriptions and presence joins go through the core's paths, their client id is the Pusher
 * socket id (so webhooks carry `socket_id`), and `client-*` events carry their event name. The
 * events are read where the webhook dispatcher reads them: the node's `herald.events` topic.
 */
import WebSocket from 'ws';
import { BUS, Topics, type Bus, type BusSubscription } from '@herald/bus';
import type { RunningNode } from '@herald/runtime';
import { startStandalone, testConfigInput, withTimeout } from '@herald/testing';
import { hmacHex } from '@herald/pusher';

interface Ev {
  name: string;
  channel?: string;
  user_id?: string;
  client_id?: string;
  event?: string;
  data?: unknown;
}

describe('Pusher connections produce lifecycle events', () => {
  let node: RunningNode;
  let sub: BusSubscription;
  const events: Ev[] = [];
  let wake: (() => void)[] = [];

  const until = (pred: () => boolean): Promise<void> =>
    withTimeout(
      (async () => {
        while (!pred()) await new Promise<void>((ok) => wake.push(ok));
      })(),
      5000,
      'expected lifecycle event',
    );

  beforeAll(async () => {
    node = await startStandalone({ ...testConfigInput(), webhooks: { occupancyDebounceMilliseconds: 0 } });
    sub = await node.app.get<Bus>(BUS).subscribe(Topics.EVENTS, {}, async (r) => {
      const rec = JSON.parse(r.value.toString('utf8')) as { app: string; event: Ev };
      if (rec.app === 'alpha') events.push(rec.event);
      const w = wake;
      wake = [];
      for (const f of w) f();
    });
  });

  afterAll(async () => {
    await sub.close();
    await node.close();
  });

  it('reports occupied, member_added, client_event and vacated with the socket id', async () => {
    const app = node.config.apps.find((a) => a.id === 'alpha')!;
    const key = app.keys[0];
    const secret = app.secrets[0];
    const open = async () => {
      const ws = new WebSocket(`${node.url.replace(/^http/, 'ws')}/app/${key}?protocol=7`);
      const frames: { event: string; channel?: string; data?: string }[] = [];
      const established = new Promise<string>((resolve) =>
        ws.on('message', (d) => {
          const f = JSON.parse(String(d)) as { event: string; channel?: string; data?: string };
          frames.push(f);
          if (f.event === 'pusher:connection_established')
            resolve((JSON.parse(f.data ?? '{}') as { socket_id: string }).socket_id);
        }),
      );
      const socketId = await withTimeout(established, 5000, 'connection_established');
      return { ws, frames, socketId };
    };
    const subscribe = async (c: Awaited<ReturnType<typeof open>>, user: string) => {
      const channelData = JSON.stringify({ user_id: user });
      const auth = `${key}:${hmacHex(secret, `${c.socketId}:presence-hooks:${channelData}`)}`;
      c.ws.send(
        JSON.stringify({
          event: 'pusher:subscribe',
          data: { channel: 'presence-hooks', auth, channel_data: channelData },
        }),
      );
    };
    const a = await open();
    await subscribe(a, 'ann');
    await until(() => events.some((e) => e.name === 'member_added' && e.user_id === 'ann'));
    expect(events.find((e) => e.name === 'channel_occupied')).toMatchObject({ channel: 'presence-hooks' });
    expect(events.find((e) => e.name === 'member_added')).toMatchObject({ client_id: a.socketId });

    const b = await open();
    await subscribe(b, 'ben');
    await until(() => events.some((e) => e.name === 'member_added' && e.user_id === 'ben'));
    a.ws.send(JSON.stringify({ event: 'client-wave', channel: 'presence-hooks', data: { hi: 1 } }));
    await until(() => events.some((e) => e.name === 'client_event'));
    expect(events.find((e) => e.name === 'client_event')).toMatchObject({
      channel: 'presence-hooks',
      user_id: 'ann',
      client_id: a.socketId,
      event: 'client-wave',
      data: { hi: 1 },
    });

    a.ws.close();
    b.ws.close();
    await until(() => events.some((e) => e.name === 'channel_vacated'));
    expect(
      events
        .filter((e) => e.name === 'member_removed')
        .map((e) => e.user_id)
        .sort(),
    ).toEqual(['ann', 'ben']);
  });
});
