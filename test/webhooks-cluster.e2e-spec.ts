/**
 * Webhooks in cluster mode, as real processes: an api and two gateways (startCluster) plus
 * webhook-dispatcher processes started here, on the shared Kafka and Redis, with the tenants, the
 * endpoints and the delivery outbox in a fresh PostgreSQL database (`webhooks.store` auto: sql).
 * Gateways produce lifecycle events to `herald.events` (occupancy counted in Redis, so the first
 * and last subscriber across both gateways count); the dispatcher consumes them as a consumer
 * group and POSTs signed batches to real receivers here. Checked: cluster-wide debounced occupancy,
 * tenant isolation, a dispatcher killed with -9 mid-delivery while the receiver is down
 * (connection refused) and a replacement, 410 then dead letters listed and replayed through the api
 * (shared SQL store), and two dispatcher replicas on one outbox.
 *
 * Real time throughout (no manual clock across processes): the dispatcher's request timeout is
 * 1 s, so a lease lasts 3 s; backoff is capped at 1 s. A dispatcher killed with -9 stays a member
 * of the Kafka group until its session times out (30 s), so the replacement may take that long
 * to receive the partitions the dead one held: the waits below allow for it.
 */
import {
  WebhookReceiver as Receiver,
  FAST_WEBHOOK_SETTINGS,
  describeWithServices,
  progress,
  startCluster,
  waitFor,
  type Cluster,
} from '@herald/testing';

const DEBOUNCE_MS = 1500;
const WEBHOOKS = { ...FAST_WEBHOOK_SETTINGS, occupancyDebounceMilliseconds: DEBOUNCE_MS, batchSize: 5 };
const EVENTS = ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event'];

describeWithServices(
  ['kafka', 'redis', 'postgres'],
  'webhooks across processes (api, 2 gateways, webhook-dispatcher; Kafka, Redis, PostgreSQL)',
  ([kafka, redis, postgres]) => {
    let cluster: Cluster;
    const receivers: Receiver[] = [];

    async function tenant(id: string, receiver: Receiver, path: string) {
      const created = await cluster.admin<{ key: { key: string }; secret: { secret: string } }>(
        'POST',
        '/v1/admin/apps',
        { id, namespaces: { chat: { presence: true, allowPublish: true } } },
      );
      const hook = await cluster.admin<{ signing_secret: string; webhook: { id: string } }>(
        'POST',
        `/v1/admin/apps/${id}/webhooks`,
        { url: receiver.url(path), events: EVENTS, channel_prefixes: ['chat:'] },
      );
      receiver.secret = hook.signing_secret;
      return { id, key: created.key.key, secret: created.secret.secret, webhook: hook.webhook.id };
    }

    beforeAll(async () => {
      cluster = await startCluster({ kafka, redis, postgres, gateways: 2, node: { webhooks: WEBHOOKS } });
    }, 120_000);

    afterAll(async () => {
      await cluster?.stop();
      for (const r of receivers) await r.down();
    }, 60_000);

    it('occupancy is cluster-wide and debounced; app B never sees app A; a killed dispatcher is replaced without duplicates or loss', async () => {
      const ra = new Receiver();
      const rb = new Receiver();
      receivers.push(ra, rb);
      await ra.start();
      await rb.start();
      const a = await tenant('whc-a', ra, '/a');
      const b = await tenant('whc-b', rb, '/b');
      let d1 = await cluster.startNode('webhook-dispatcher');
      const [g1, g2] = cluster.gateways;
      const room = 'chat:room';
      const names = (r: Receiver, channel: string) =>
        r
          .events()
          .filter((e) => e.channel === channel)
          .map((e) => `${e.name}${e.user_id && e.name.startsWith('member') ? `:${e.user_id}` : ''}`);
      const wait = (r: Receiver, channel: string, expected: string[], ms = 45_000) =>
        r.until(
          () => names(r, channel).length >= expected.length,
          `${expected.join(', ')} on ${channel}`,
          ms,
        );

      // --- first and last subscriber across two gateways --------------------------------------
      const a1 = await cluster.connect(g1, a, 'u1');
      await a1.request({ cmd: 'subscribe', channel: room });
      await wait(ra, room, ['channel_occupied', 'member_added:u1']);
      const a2 = await cluster.connect(g2, a, 'u2');
      await a2.request({ cmd: 'subscribe', channel: room });
      await wait(ra, room, ['channel_occupied', 'member_added:u1', 'member_added:u2']);
      // Another app's subscriber on the same channel name: its own events, to its own receiver.
      const b1 = await cluster.connect(g2, b, 'u9');
      await b1.request({ cmd: 'subscribe', channel: room });
      await wait(rb, room, ['channel_occupied', 'member_added:u9']);

      // u1 moves from g1 to g2 within the debounce window: no member_removed/added pair for u1.
      await a1.close();
      const a1b = await cluster.connect(g2, a, 'u1');
      await a1b.request({ cmd: 'subscribe', channel: room });
      // Time is the event here: the window must pass before "nothing was sent" means anything.
      await new Promise((ok) => setTimeout(ok, DEBOUNCE_MS + 1000));
      await a1b.request({ cmd: 'publish', channel: room, data: { marker: 'after-window' } });
      await wait(ra, room, ['channel_occupied', 'member_added:u1', 'member_added:u2', 'client_event']);
      expect(names(ra, room)).toEqual([
        'channel_occupied',
        'member_added:u1',
        'member_added:u2',
        'client_event',
      ]);

      await a2.request({ cmd: 'unsubscribe', channel: room });
      await a1b.request({ cmd: 'unsubscribe', channel: room });
      const final = [
        'channel_occupied',
        'member_added:u1',
        'member_added:u2',
        'client_event',
        'member_removed:u2',
        'member_removed:u1',
        'channel_vacated',
      ];
      await wait(ra, room, final);
      expect(names(ra, room).filter((n) => n === 'channel_occupied' || n === 'channel_vacated')).toEqual([
        'channel_occupied',
        'channel_vacated',
      ]);
      expect([...names(ra, room)].sort()).toEqual([...final].sort());
      progress('occupancy across gateways: one occupied, one vacated, no pair for a quick move');

      // --- the dispatcher killed mid-delivery, the receiver down, a replacement ----------------
      const stream = 'chat:stream';
      ra.mode = 'hold';
      const writer = await cluster.connect(g1, a, 'w1');
      await writer.request({ cmd: 'subscribe', channel: stream });
      for (let i = 0; i < 10; i++)
        await writer.request({ cmd: 'publish', channel: stream, data: { seq: i } });
      await ra.until(() => ra.held.length >= 1, 'a delivery to hold', 30_000);
      const cut = ra.all[ra.all.length - 1].id;
      await d1.kill('SIGKILL');
      progress(`killed ${d1.nodeId} with a delivery (${cut}) in flight`);
      for (const res of ra.held.splice(0)) res.destroy();
      const port = ra.port;
      await ra.down(); // connection refused from here on
      ra.mode = 'ok';
      for (let i = 10; i < 20; i++)
        await writer.request({ cmd: 'publish', channel: stream, data: { seq: i } });
      d1 = await cluster.startNode('webhook-dispatcher');
      // The replacement meets the refused connection (its lease on the cut batch ran out) ...
      await waitFor(
        async () => {
          const text = await (await fetch(`${d1.url}/metrics`)).text();
          return /herald_webhook_deliveries_total\{app="whc-a",outcome="retried"\} [1-9]/.test(text);
        },
        { timeoutMs: 60_000, intervalMs: 200, message: 'a refused attempt by the replacement dispatcher' },
      );
      // ... and delivers everything once the receiver is back.
      await ra.start(port);
      const seqs = () =>
        ra
          .events()
          .filter((e) => e.channel === stream && e.name === 'client_event')
          .map((e) => (e.data as { seq: number }).seq);
      await ra.until(() => seqs().length >= 20, '20 client events on the stream', 60_000);
      expect(seqs()).toEqual([...Array(20).keys()]);
      // The cut batch was resent under the same webhook-id, and no event came under two ids.
      expect(ra.all.filter((r) => r.id === cut).length).toBeGreaterThanOrEqual(2);
      const ids = ra.events().map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ra.all.every((r) => r.valid)).toBe(true);
      expect(rb.all.every((r) => r.valid)).toBe(true);
      expect(rb.events().every((e) => e.channel === room)).toBe(true);
      expect(ra.events().some((e) => e.user_id === 'u9')).toBe(false);
      progress('replacement dispatcher: 20 events once, in order, cut batch resent under its webhook-id');

      // --- 410 disables; the api lists the dead letters from the shared store and replays them -
      rb.mode = 'e410';
      await b1.request({ cmd: 'publish', channel: room, data: { n: 'gone' } });
      await rb.until(
        () => rb.all.some((r) => r.events.some((e) => e.name === 'client_event')),
        'an attempt answered 410',
        30_000,
      );
      await waitFor(
        async () =>
          (
            await cluster.admin<{ dead_letters: { reason: string }[] }>(
              'GET',
              `/v1/admin/apps/${b.id}/webhooks/dead-letters`,
            )
          ).dead_letters.some((d) => d.reason === 'gone'),
        { timeoutMs: 20_000, intervalMs: 200, message: 'the 410 dead letter, seen through the api' },
      );
      rb.mode = 'ok';
      await cluster.admin('PATCH', `/v1/admin/apps/${b.id}/webhooks/${b.webhook}`, { enabled: true });
      const replayed = await cluster.admin<{ replayed: number }>(
        'POST',
        `/v1/admin/apps/${b.id}/webhooks/dead-letters/replay`,
        {},
      );
      expect(replayed.replayed).toBeGreaterThanOrEqual(1);
      await rb.until(
        () => rb.events().some((e) => e.name === 'client_event' && (e.data as { n?: string }).n === 'gone'),
        'the replayed event',
        30_000,
      );
      expect(ra.events().some((e) => (e.data as { n?: string } | undefined)?.n === 'gone')).toBe(false);
      progress('410 disabled the endpoint; dead letter listed and replayed through the api');

      // --- two dispatcher replicas on one outbox: still once, in order per channel ------------
      await cluster.startNode('webhook-dispatcher');
      const before = ra.events().length;
      const channels = ['chat:p0', 'chat:p1', 'chat:p2'];
      for (const c of channels) await writer.request({ cmd: 'subscribe', channel: c });
      for (let i = 0; i < 30; i++)
        await writer.request({ cmd: 'publish', channel: channels[i % 3], data: { seq: i } });
      const perChannel = (c: string) =>
        ra
          .events()
          .slice(before)
          .filter((e) => e.channel === c && e.name === 'client_event')
          .map((e) => (e.data as { seq: number }).seq);
      await ra.until(
        () => channels.every((c) => perChannel(c).length >= 10),
        '30 client events with two dispatchers',
        60_000,
      );
      for (const [k, c] of channels.entries())
        expect(perChannel(c)).toEqual(Array.from({ length: 10 }, (_, i) => i * 3 + k));
      const all = ra.events().map((e) => e.id);
      expect(new Set(all).size).toBe(all.length);
      progress('two dispatcher replicas: every event once, in order per channel');
    }, 240_000);
  },
);
