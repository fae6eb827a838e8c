import { createServer, Socket, type Server } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import kafkajs, { type ISocketFactory } from 'kafkajs';
import { Test } from '@nestjs/testing';
import { busContract, deferred, describeWithService, uniqueId, waitFor } from '@herald/testing';
import { BUS, type Bus, type BusRecord } from '../bus.js';
import { BusModule } from '../bus.module.js';
import { BusUnavailableError, KafkaBus, toPublishError, type KafkaBusOptions } from './kafka.bus.js';

const quiet = (): void => {};

/**
 * Consumer timings for tests: fetches return after 100 ms when idle and heartbeats go every 100 ms,
 * so rebalances are noticed at once; 6 s is the broker's default minimum session timeout, so the
 * suite also runs against an existing cluster (HERALD_TEST_KAFKA_URL).
 */
const FAST_CONSUMER = {
  sessionTimeoutMs: 6000,
  rebalanceTimeoutMs: 10_000,
  heartbeatIntervalMs: 100,
  maxWaitTimeMs: 100,
};

/**
 * A socket factory whose sockets the test can cut, as a crash or a network partition would: the
 * broker sees the member's connections drop and, after its session timeout, drops the member.
 */
function killableSockets(): { socketFactory: ISocketFactory; kill(): void } {
  const sockets = new Set<Socket>();
  let killed = false;
  const socketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
    if (killed) {
      const dead = new Socket();
      setImmediate(() => dead.destroy(new Error('killed by the test')));
      return dead;
    }
    const socket =
      ssl && Object.keys(ssl).length > 0
        ? tlsConnect({ host, port, ...ssl }, onConnect)
        : new Socket().connect({ host, port }, onConnect);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    return socket;
  };
  return {
    socketFactory,
    kill: () => {
      killed = true;
      // With an error, as a reset connection: kafkajs fails what was in flight at once.
      for (const s of sockets) s.destroy(new Error('connection cut by the test'));
    },
  };
}

/** A port nothing listens on: bound by the kernel, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A "broker" that accepts connections and never answers, as a Kafka paused with SIGSTOP. */
async function silentServer(): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, sockets };
}

describe('BusModule with driver kafka', () => {
  it('provides a KafkaBus under BUS (connecting lazily) and closes it on shutdown', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        BusModule.forRoot({ driver: 'kafka', kafka: { brokers: ['127.0.0.1:1'], logLevel: 'nothing' } }),
      ],
    }).compile();
    const bus = moduleRef.get<Bus>(BUS);
    expect(bus).toBeInstanceOf(KafkaBus);
    await moduleRef.close();
    await expect(bus.publish('t', 'k', Buffer.from('x'))).rejects.toThrow('closed');
  });

  it('refuses the kafka driver without its options', async () => {
    await expect(
      Test.createTestingModule({ imports: [BusModule.forRoot({ driver: 'kafka' })] }).compile(),
    ).rejects.toThrow('brokers');
  });
});

describeWithService('kafka', 'KafkaBus', (url) => {
  // One prefix per run: suites and runs share the broker without seeing each other's topics.
  const runPrefix = `${uniqueId('herald-it')}.`;
  const options = (extra: Partial<KafkaBusOptions> = {}): KafkaBusOptions => ({
    brokers: [url],
    topicPrefix: runPrefix,
    partitions: 4,
    logLevel: 'nothing',
    onError: quiet,
    retryBackoff: { baseMs: 5, maxMs: 50 },
    consumer: FAST_CONSUMER,
    ...extra,
  });

  busContract('KafkaBus', async () => {
    const bus = new KafkaBus(options());
    return { bus, teardown: () => bus.close() };
  });

  describe('on Kafka', () => {
    const buses: KafkaBus[] = [];
    const newBus = (extra?: Partial<KafkaBusOptions>): KafkaBus => {
      const bus = new KafkaBus(options(extra));
      buses.push(bus);
      return bus;
    };
    afterEach(async () => {
      await Promise.all(buses.splice(0).map((b) => b.close()));
    }, 20_000);

    it('keeps per-key order for many keys spread over every partition, to groups and broadcast', async () => {
      const bus = newBus({ partitions: 8 });
      const topic = uniqueId('herald.test');
      const broadcast: BusRecord[] = [];
      const grouped: BusRecord[] = [];
      await bus.subscribe(topic, {}, async (r) => void broadcast.push(r));
      await bus.subscribe(topic, { group: 'g' }, async (r) => void grouped.push(r));
      await bus.subscribe(topic, { group: 'g' }, async (r) => {
        await new Promise<void>((resolve) => setImmediate(resolve));
        grouped.push(r);
      });
      const keys = 40;
      const perKey = 15;
      // Keys publish concurrently (interleaved on the wire), each key's records one after another.
      await Promise.all(
        Array.from({ length: keys }, async (_, k) => {
          for (let i = 0; i < perKey; i++)
            await bus.publish(topic, `app:user:${k}`, Buffer.from(`${k}:${i}`));
        }),
      );
      const total = keys * perKey;
      await waitFor(() => broadcast.length >= total && grouped.length >= total, {
        timeoutMs: 15_000,
        message: `every record (broadcast ${broadcast.length}, group ${grouped.length})`,
      });
      for (const seen of [broadcast, grouped]) {
        expect(seen).toHaveLength(total);
        const byKey = new Map<string, number[]>();
        const partitionOfKey = new Map<string, Set<number>>();
        for (const r of seen) {
          byKey.set(r.key, [...(byKey.get(r.key) ?? []), Number(r.value.toString().split(':')[1])]);
          partitionOfKey.set(r.key, (partitionOfKey.get(r.key) ?? new Set()).add(r.partition));
        }
        for (const list of byKey.values()) expect(list).toEqual(Array.from({ length: perKey }, (_, i) => i));
        for (const parts of partitionOfKey.values()) expect(parts.size).toBe(1);
        expect(new Set(seen.map((r) => r.partition)).size).toBe(8);
      }
    }, 30_000);

    it('keeps call order per key for publishes not awaited one by one (they share produce requests)', async () => {
      const bus = newBus({ partitions: 4 });
      const topics = [uniqueId('herald.test'), uniqueId('herald.test')];
      const seen: BusRecord[] = [];
      for (const topic of topics) await bus.subscribe(topic, {}, async (r) => void seen.push(r));
      const perKey = 200;
      const calls: Promise<void>[] = [];
      // Every call in one go: they queue while a request is in flight and leave in batches.
      for (let i = 0; i < perKey; i++)
        for (const [t, topic] of topics.entries())
          for (const k of ['a', 'b']) calls.push(bus.publish(topic, k, Buffer.from(`${t}:${k}:${i}`)));
      await Promise.all(calls);
      await waitFor(() => seen.length >= calls.length, { timeoutMs: 15_000, message: 'every record' });
      expect(seen).toHaveLength(calls.length);
      const byStream = new Map<string, number[]>();
      for (const r of seen) {
        const [t, k, i] = r.value.toString().split(':');
        expect(r.key).toBe(k);
        byStream.set(`${t}:${k}`, [...(byStream.get(`${t}:${k}`) ?? []), Number(i)]);
      }
      expect(byStream.size).toBe(4);
      for (const list of byStream.values()) expect(list).toEqual(Array.from({ length: perKey }, (_, i) => i));
    }, 30_000);

    it('hands a killed member’s uncommitted records, in order, to the member that joins', async () => {
      const topic = uniqueId('herald.test');
      const cut = killableSockets();
      const doomed = newBus({ socketFactory: cut.socketFactory, partitions: 1 });
      const stuck = deferred();
      const seenByDoomed: string[] = [];
      await doomed.subscribe(topic, { group: 'workers' }, async (r) => {
        seenByDoomed.push(r.value.toString());
        // Handles u:0 and u:1, then hangs on u:2 as a process that dies mid-record.
        if (r.value.toString() === 'u:2') await stuck.promise;
      });
      const publisher = newBus({ partitions: 1 });
      for (let i = 0; i < 5; i++) await publisher.publish(topic, 'app:user:u', Buffer.from(`u:${i}`));
      await waitFor(() => seenByDoomed.includes('u:2'), { message: 'the doomed member reached u:2' });
      // Its handled records were committed at the end of their batch (or will be with the next
      // one): only what it had resolved before u:2 may count as done.
      cut.kill();

      const survivor: string[] = [];
      await publisher.subscribe(
        topic,
        { group: 'workers' },
        async (r) => void survivor.push(r.value.toString()),
      );
      for (let i = 5; i < 8; i++) await publisher.publish(topic, 'app:user:u', Buffer.from(`u:${i}`));
      await waitFor(() => survivor.includes('u:7'), { timeoutMs: 20_000, message: 'the survivor caught up' });
      // No loss: from the first record the doomed member had not committed, every record, in order.
      const first = Number(survivor[0].split(':')[1]);
      expect(first).toBeLessThanOrEqual(2);
      expect(survivor).toEqual(Array.from({ length: 8 - first }, (_, i) => `u:${first + i}`));
      // The doomed member still closes, in bounded time, though it cannot reach Kafka to commit.
      stuck.resolve();
      const closing = Date.now();
      await doomed.close();
      expect(Date.now() - closing).toBeLessThan(15_000);
    }, 60_000);

    it('rejects publish within the deadline when no broker listens', async () => {
      const port = await closedPort();
      const bus = newBus({ brokers: [`127.0.0.1:${port}`], publishTimeoutMs: 2000 });
      const started = Date.now();
      const err = await bus.publish(uniqueId('herald.test'), 'k', Buffer.from('x')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BusUnavailableError);
      expect(Date.now() - started).toBeLessThan(2500);
    });

    it('rejects publish within the deadline when the broker never answers, and bounds what waits', async () => {
      const silent = await silentServer();
      try {
        const bus = newBus({
          brokers: [`127.0.0.1:${silent.port}`],
          publishTimeoutMs: 1000,
          maxPendingPublishes: 3,
        });
        const topic = uniqueId('herald.test');
        const started = Date.now();
        const waiting = [1, 2, 3].map((i) =>
          bus.publish(topic, 'k', Buffer.from(`${i}`)).catch((e: unknown) => e),
        );
        // The fourth finds three already waiting: refused at once, nothing queued.
        const refused = await bus.publish(topic, 'k', Buffer.from('4')).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(BusUnavailableError);
        expect(Date.now() - started).toBeLessThan(500);
        for (const err of await Promise.all(waiting)) expect(err).toBeInstanceOf(BusUnavailableError);
        expect(Date.now() - started).toBeLessThan(1500);
      } finally {
        for (const s of silent.sockets) s.destroy();
        await new Promise<void>((resolve) => silent.server.close(() => resolve()));
      }
    });

    it('maps the publish error to 503 UNAVAILABLE with a retry hint', () => {
      const err = new BusUnavailableError('down');
      expect(err.def.status).toBe(503);
      expect(err.details).toEqual({ retryAfterMs: 1000 });
    });

    it('answers 503 for producer-state refusals (the producer starts over) but not for a refused write', () => {
      const refusal = (type: string, code: number) =>
        new kafkajs.KafkaJSProtocolError(Object.assign(new Error(type), { type, code, retriable: false }));
      expect(toPublishError(refusal('OUT_OF_ORDER_SEQUENCE_NUMBER', 45))).toBeInstanceOf(BusUnavailableError);
      expect(toPublishError(refusal('UNKNOWN_PRODUCER_ID', 59))).toBeInstanceOf(BusUnavailableError);
      const tooLarge = refusal('MESSAGE_TOO_LARGE', 10);
      expect(toPublishError(tooLarge)).toBe(tooLarge);
    });
  });
});
