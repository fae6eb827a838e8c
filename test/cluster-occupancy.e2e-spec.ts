/**
 * Cluster-wide channel occupancy, as real processes: an api and two gateways (startCluster) plus a
 * webhook-dispatcher process, on the shared Kafka and Redis, tenants and endpoints in a fresh
 * PostgreSQL database. Gateways keep per-gateway subscription counts in Redis under a lease
 * (`presence.occupancyLeaseMilliseconds`, short here); the api answers REST `GET /channels` and the
 * Pusher HTTP API from them. A gateway killed with SIGKILL stops renewing its lease: once it has
 * expired, the surviving gateway's sweep removes the dead one's counts, and the channels only it
 * served are reported vacated (member removed) exactly once and leave the listing, while channels
 * the survivor still serves keep the survivor's count.
 *
 * Real time throughout: the lease is 1.5 s (renewed every 0.5 s) and the webhook debounce 0.5 s.
 */
import Pusher from 'pusher';
import {
  RestClient,
  WebhookReceiver,
  FAST_WEBHOOK_SETTINGS,
  describeWithServices,
  progress,
  startCluster,
  waitFor,
  type Cluster,
  type ClusterNode,
} from '@herald/testing';

const LEASE_MS = 1500;
const DEBOUNCE_MS = 500;
const WEBHOOKS = { ...FAST_WEBHOOK_SETTINGS, occupancyDebounceMilliseconds: DEBOUNCE_MS };
const EVENTS = ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed'];

/** `name:channel[:user]` of every event the receiver accepted (de-duplicated), in arrival order. */
function names(r: WebhookReceiver): string[] {
  return r
    .events()
    .map((e) => `${e.name}:${e.channel ?? ''}${e.name.startsWith('member') ? `:${e.user_id ?? ''}` : ''}`);
}

function count(r: WebhookReceiver, name: string): number {
  return names(r).filter((n) => n === name).length;
}

describeWithServices(
  ['kafka', 'redis', 'postgres'],
  'cluster-wide occupancy (api, 2 gateways, webhook-dispatcher; Kafka, Redis, PostgreSQL)',
  ([kafka, redis, postgres]) => {
    let cluster: Cluster;
    const receiver = new WebhookReceiver();

    beforeAll(async () => {
      cluster = await startCluster({
        kafka,
        redis,
        postgres,
        gateways: 2,
        node: { webhooks: WEBHOOKS, presence: { occupancyLeaseMilliseconds: LEASE_MS } },
      });
      await cluster.startNode('webhook-dispatcher');
      await receiver.start();
    }, 120_000);

    afterAll(async () => {
      await cluster?.stop();
      await receiver.down();
    }, 60_000);

    it('REST and Pusher listings are cluster-wide; a gateway killed with -9 is swept after its lease, its channels vacated once', async () => {
      const id = 'occ-a';
      const created = await cluster.admin<{ key: { key: string }; secret: { secret: string } }>(
        'POST',
        '/v1/admin/apps',
        { id, namespaces: { chat: { presence: true } } },
      );
      const key = created.key.key;
      const secret = created.secret.secret;
      await cluster.admin('POST', `/v1/admin/apps/${id}/webhooks`, {
        url: receiver.url(),
        events: EVENTS,
      });
      const rest = new RestClient(cluster.api.url, id, secret);
      const pusher = new Pusher({
        appId: id,
        key,
        secret,
        host: '127.0.0.1',
        port: String(cluster.api.port),
        useTLS: false,
      });
      const [g1, g2] = cluster.gateways;

      const connect = async (node: ClusterNode, user: string, channels: string[]) => {
        const client = await cluster.connect(node, { id, key, secret }, user);
        for (const channel of channels) await client.request({ cmd: 'subscribe', channel });
        return client;
      };
      const listing = async (): Promise<Record<string, number>> => {
        const res = await rest.call<{ channels: { channel: string; subscribers: number }[] }>(
          'GET',
          '/channels',
        );
        expect(res.status).toBe(200);
        return Object.fromEntries(res.body.channels.map((c) => [c.channel, c.subscribers]));
      };
      /** Waits until the REST listing is `expected`; the error says what it was last. */
      const listingIs = async (expected: Record<string, number>, what: string) => {
        let last: Record<string, number> = {};
        await waitFor(
          async () => {
            last = await listing();
            return (
              JSON.stringify(Object.entries(last).sort()) === JSON.stringify(Object.entries(expected).sort())
            );
          },
          { timeoutMs: 15_000, intervalMs: 100 },
        ).catch((err: unknown) => {
          throw new Error(`${what}: ${String(err)}; last listing ${JSON.stringify(last)}`);
        });
      };
      const pusherCount = async (channel: string) =>
        (await (
          await pusher.get({ path: `/channels/${channel}`, params: { info: 'subscription_count' } })
        ).json()) as {
          occupied: boolean;
          subscription_count?: number;
        };

      // --- subscribers on both gateways; the api (no sessions of its own) lists them all -------
      await connect(g1, 'u1', ['room-only1', 'room-both', 'chat:pres']);
      await connect(g1, 'u3', ['room-only1']);
      await connect(g2, 'u2', ['room-both', 'room-only2']);
      // Every connection is also subscribed to its user's channel (`#<user>`).
      const before = {
        '#u1': 1,
        '#u2': 1,
        '#u3': 1,
        'chat:pres': 1,
        'room-both': 2,
        'room-only1': 2,
        'room-only2': 1,
      };
      await listingIs(before, 'cluster-wide REST listing');
      expect(await listing()).toEqual(before);
      expect(await pusherCount('room-both')).toEqual({ occupied: true, subscription_count: 2 });
      const listed = (await (
        await pusher.get({ path: '/channels', params: { filter_by_prefix: 'room-' } })
      ).json()) as { channels: Record<string, unknown> };
      expect(Object.keys(listed.channels).sort()).toEqual(['room-both', 'room-only1', 'room-only2']);
      const prefixed = await rest.call<{ channels: { channel: string; subscribers: number }[] }>(
        'GET',
        '/channels',
        {
          query: { prefix: 'room-only' },
        },
      );
      expect(prefixed.body.channels).toEqual([
        { channel: 'room-only1', subscribers: 2 },
        { channel: 'room-only2', subscribers: 1 },
      ]);
      const occupied = [
        'channel_occupied:chat:pres',
        'member_added:chat:pres:u1',
        'channel_occupied:room-both',
        'channel_occupied:room-only1',
        'channel_occupied:room-only2',
      ];
      await waitFor(() => occupied.every((n) => names(receiver).includes(n)), {
        timeoutMs: 45_000,
        intervalMs: 100,
        message: 'occupied events',
      });
      // The api's info counts the app's connections cluster-wide too (presence registry).
      await waitFor(
        async () => (await rest.call<{ connections: number }>('GET', '/info')).body.connections === 3,
        { timeoutMs: 15_000, intervalMs: 100, message: 'cluster-wide connection count' },
      );
      progress('cluster-wide listing and info through the api; occupied events delivered');

      // --- g1 dies without closing anything ----------------------------------------------------
      await g1.kill('SIGKILL');
      progress('gateway 1 killed with SIGKILL');
      const vacated = [
        'member_removed:chat:pres:u1',
        'channel_vacated:chat:pres',
        'channel_vacated:room-only1',
      ];
      await waitFor(() => vacated.every((n) => names(receiver).includes(n)), {
        timeoutMs: 45_000,
        intervalMs: 100,
        message: "the dead gateway's channels vacated",
      });
      const after = { '#u2': 1, 'room-both': 1, 'room-only2': 1 };
      await listingIs(after, 'listing without the dead gateway');
      expect(await pusherCount('room-both')).toEqual({ occupied: true, subscription_count: 1 });
      expect(await pusherCount('room-only1')).toEqual({ occupied: false, subscription_count: 0 });
      progress('dead gateway swept: its channels vacated and unlisted, the survivor keeps its own');

      // Time is the event here: two more leases and windows must pass before "sent once" means anything.
      await new Promise((ok) => setTimeout(ok, 2 * (LEASE_MS + DEBOUNCE_MS)));
      for (const n of vacated) expect(count(receiver, n)).toBe(1);
      for (const n of occupied) expect(count(receiver, n)).toBe(1);
      expect(count(receiver, 'channel_vacated:room-both')).toBe(0);
      expect(count(receiver, 'channel_vacated:room-only2')).toBe(0);
      expect(await listing()).toEqual(after);

      // --- the survivor's channels still come and go normally ----------------------------------
      await connect(g2, 'u4', ['room-only1']);
      await waitFor(() => count(receiver, 'channel_occupied:room-only1') === 2, {
        timeoutMs: 45_000,
        intervalMs: 100,
        message: 'room-only1 occupied again',
      });
      await listingIs({ ...after, '#u4': 1, 'room-only1': 1 }, 'room-only1 listed again');
    }, 180_000);
  },
);
