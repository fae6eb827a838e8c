import { DisconnectCode, type Push } from '@herald/protocol';
import {
  openStalledSubscriber,
  publishUntilClosed,
  startTestNode,
  uniqueId,
  withTimeout,
  type TestNode,
} from '@herald/testing';

// Connections the server ends on its own: a client too slow to read its messages, and every
// client when the node shuts down (drain).

describe('slow consumer', () => {
  let node: TestNode;

  beforeAll(async () => {
    // A small outbound queue so a stalled reader overflows it after a few MB sit in TCP buffers.
    node = await startTestNode({ limits: { outboundQueueBytes: 256 * 1024 } });
  });

  afterAll(async () => {
    await node?.close();
  });

  it('disconnects a client that stops reading with 3005 while another subscriber gets everything', async () => {
    const { alpha } = node.apps;
    const channel = `nohist:${uniqueId('firehose')}`;
    const healthy = await node.connect(alpha, 'slow-healthy');
    await healthy.request({ cmd: 'subscribe', channel });

    // The stalled client: a bare TCP socket that completes the handshake, subscribes, then never
    // reads again, so the server's writes pile up in kernel buffers and then in its queue.
    const { socket: stalled, client } = await openStalledSubscriber(node, alpha, 'slow-stalled', channel);

    // Publish 60 KB messages until the server gives up on the stalled client (bounded: 64 MB).
    const { close, published } = await publishUntilClosed(node, alpha, channel, client, { max: 1100 });
    expect(close.code).toBe(DisconnectCode.SLOW.code);

    // The healthy subscriber received every publication, in order.
    const got = await healthy.nextPubs(channel, published, { timeoutMs: 20_000 });
    expect(got.map((p) => (p.data as { n: number }).n)).toEqual(
      Array.from({ length: published }, (_, i) => i),
    );
    expect(healthy.isClosed).toBe(false);

    // The stalled socket was cut: once it reads again it finds the end of the stream.
    stalled.resume();
    await withTimeout(stalled.ended, 5000, 'stalled socket was not closed');
  }, 60_000);
});

describe('drain on shutdown', () => {
  it('closes sessions with 3001, turns /readyz 503 while draining, keeps /healthz 200', async () => {
    const DRAIN_SECONDS = 2;
    const node = await startTestNode({ node: { shutdown: { drainSeconds: DRAIN_SECONDS } } });
    const { alpha } = node.apps;
    expect((await fetch(`${node.url}/readyz`)).status).toBe(200);
    const channel = `nohist:${uniqueId('drain')}`;
    const first = await node.connect(alpha, 'drain-1');
    const second = await node.connect(alpha, 'drain-2');
    await first.request({ cmd: 'subscribe', channel });
    await second.request({ cmd: 'subscribe', channel });

    const closing = node.shutdown();
    try {
      // The drain spreads closes over the window: one session goes first, the other later.
      const firstClosed = await withTimeout(
        Promise.race([first.closed, second.closed]),
        DRAIN_SECONDS * 1000 + 1000,
        'no session was closed by the drain',
      );
      expect(firstClosed.code).toBe(DisconnectCode.SHUTDOWN.code);
      const remaining = first.isClosed ? second : first;

      // Load balancers see the node leave (readiness) while it stays alive (liveness).
      const ready = await fetch(`${node.url}/readyz`);
      await ready.text();
      expect(ready.status).toBe(503);
      const live = await fetch(`${node.url}/healthz`);
      await live.text();
      expect(live.status).toBe(200);

      // A new connection during the drain is turned away with the same code.
      const late = await node.open(alpha);
      expect((await late.waitClosed()).code).toBe(DisconnectCode.SHUTDOWN.code);

      // A session waiting for its turn is still a working session: it keeps receiving.
      await node.rest(alpha).publish(channel, 'during-drain');
      const pub = await remaining.nextPush((p: Push) => p.push === 'pub' && p.channel === channel, {
        timeoutMs: 1000,
      });
      expect(pub).toMatchObject({ pub: { data: 'during-drain' } });

      expect((await remaining.waitClosed({ timeoutMs: DRAIN_SECONDS * 1000 + 1000 })).code).toBe(
        DisconnectCode.SHUTDOWN.code,
      );
      await closing;
    } finally {
      // If the drain misbehaved, let the node finish stopping so the suite still exits.
      await Promise.all([first.close(), second.close()]);
      await closing.catch(() => undefined);
    }
  }, 20_000);
});
