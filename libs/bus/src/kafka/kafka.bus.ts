import { randomUUID } from 'node:crypto';
import type { OnModuleDestroy } from '@nestjs/common';
import { ErrorCode, HeraldError } from '@herald/protocol';
import { processMetric } from '@herald/observability';
import { Gauge } from 'prom-client';
import kafkajs, {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type ISocketFactory,
  type Kafka,
  type KafkaMessage,
  type LogEntry,
  type Producer,
  type RetryOptions,
} from 'kafkajs';
import type { Bus, BusHandler, BusRecord, BusSubscribeOptions, BusSubscription } from '../bus.js';

// kafkajs is CommonJS: its classes and enums come from the default export.
const { Kafka: KafkaClient, Partitioners, logLevel: LogLevel, KafkaJSProtocolError } = kafkajs;

/**
 * Records of a partition this process has not handled yet (high watermark - 1 - last handled
 * offset), updated per fetched batch. Labels: the logical topic, the partition (bounded by
 * kafka.partitions) and the group (`broadcast` for every-node subscribers such as gateways).
 */
const consumerLag = processMetric(
  new Gauge({
    name: 'herald_kafka_consumer_lag',
    help: 'Kafka records not yet handled by this process, by topic, partition and group.',
    labelNames: ['topic', 'partition', 'group'],
    registers: [],
  }),
);

/** At most this many records go in one produce request. */
const MAX_BATCH_RECORDS = 500;

interface Outgoing {
  topic: string;
  key: string;
  value: Buffer;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * A write Kafka cannot take now (broker unreachable, paused, no leader, or too many publishes
 * already waiting). It is a HeraldError UNAVAILABLE, so the REST layer answers 503 with
 * Retry-After; the caller may retry (with its idempotency key).
 */
export class BusUnavailableError extends HeraldError {
  constructor(message: string, cause?: unknown, retryAfterMs = 1000) {
    super(ErrorCode.UNAVAILABLE, message, { retryAfterMs });
    this.name = 'BusUnavailableError';
    if (cause !== undefined) this.cause = cause;
  }
}

export interface KafkaBusErrorContext {
  topic: string;
  /** Set for consumer-group errors. */
  group?: string;
  partition?: number;
  /** The record whose handler failed. */
  record?: BusRecord;
}

export type KafkaBusLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export interface KafkaBusLogEntry {
  level: Exclude<KafkaBusLogLevel, 'nothing'>;
  /** kafkajs component, e.g. `Consumer`, `Connection`. */
  namespace: string;
  message: string;
  extra: Record<string, unknown>;
}

export interface KafkaBusConsumerOptions {
  /**
   * A member that sends no heartbeat for this long is dropped and its partitions move. kafkajs
   * heartbeats between records, so one handler call must finish well within it. Default 30 000;
   * the broker bounds it (group.min/max.session.timeout.ms, 6 000 to 1 800 000 by default).
   */
  sessionTimeoutMs?: number;
  /** How long a rebalance waits for members to rejoin. Default 60 000. */
  rebalanceTimeoutMs?: number;
  /** Default 3 000: about a tenth of the session timeout. */
  heartbeatIntervalMs?: number;
  /** Longest wait of one fetch when no record arrives (also bounds how fast a rebalance is noticed). Default 500. */
  maxWaitTimeMs?: number;
}

export interface KafkaBusOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Client id sent to Kafka (quotas, broker logs); default `herald`. */
  clientId?: string;
  /** Partitions of topics this bus creates; default 16. Existing topics keep theirs. */
  partitions?: number;
  /** Replicas of topics this bus creates; default 1. */
  replicationFactor?: number;
  /** Prepended to every topic and consumer-group name (several deployments on one cluster, tests). */
  topicPrefix?: string;
  /** `publish` rejects with BusUnavailableError when Kafka has not acknowledged by then; default 5 000. */
  publishTimeoutMs?: number;
  /**
   * Publishes waiting for Kafka at once; beyond it `publish` rejects at once with
   * BusUnavailableError, so memory stays bounded while Kafka is down. Default 10 000.
   */
  maxPendingPublishes?: number;
  consumer?: KafkaBusConsumerOptions;
  /** Group redelivery backoff: baseMs doubling per failed attempt, capped at maxMs; default 50/1000. */
  retryBackoff?: { baseMs: number; maxMs: number };
  /** Handler failures and consumer crashes are reported here; default console.error. */
  onError?: (error: unknown, context: KafkaBusErrorContext) => void;
  /** kafkajs's own log lines at `logLevel` and above; default console.error. */
  log?: (entry: KafkaBusLogEntry) => void;
  /** Default `warn`. */
  logLevel?: KafkaBusLogLevel;
  /** Opens the TCP (or TLS) sockets; default kafkajs's. Tests use it to cut a member off. */
  socketFactory?: ISocketFactory;
}

const LEVELS = {
  nothing: LogLevel.NOTHING,
  error: LogLevel.ERROR,
  warn: LogLevel.WARN,
  info: LogLevel.INFO,
  debug: LogLevel.DEBUG,
} as const;

const EMPTY = Buffer.alloc(0);

/** What subscriptions need from their bus. */
interface BusCore {
  readonly kafka: Kafka;
  readonly clientId: string;
  readonly partitions: number;
  readonly consumer: Required<KafkaBusConsumerOptions>;
  readonly consumerRetry: RetryOptions;
  readonly onError: (error: unknown, context: KafkaBusErrorContext) => void;
  backoffMs(attempt: number): number;
  admin(): Promise<Admin>;
  forget(subscription: KafkaSubscription): void;
}

/**
 * Bus on Kafka (kafkajs). See the port for the guarantees; how each holds here:
 * - Per-key order: keys are hashed by kafkajs's default partitioner (murmur2, as the Java client),
 *   so a key keeps its partition while the topic's partition count does not change; the producer is
 *   idempotent with one request in flight, so retries neither duplicate nor reorder.
 * - Durable: `acks: -1` (all in-sync replicas). `publish` rejects with BusUnavailableError within
 *   `publishTimeoutMs` when Kafka cannot take the write.
 * - Groups: one kafkajs consumer per subscription in the Kafka group `<topic>:<group>` (groups are
 *   per topic, as in the port). A record's offset is resolved only after its handler resolved and
 *   committed at the end of each fetched batch (and before a rebalance); a rejection is retried in
 *   place with backoff, heartbeating in between, until it succeeds, the member closes or loses the
 *   partition: never skipped. A group's first member fixes the start of every partition without a
 *   committed offset at the latest offset read before it joined, and commits it.
 * - Broadcast: a consumer in a group of its own (unique id, no commits), sought to the latest
 *   offsets read before it joined, so everything published after `subscribe` resolved is handed
 *   out; after a rejoin (session lost, crash restart) it resumes where it was.
 * Kafka topics are created on first use with `partitions` and `replicationFactor`.
 */
export class KafkaBus implements Bus, OnModuleDestroy {
  private readonly core: BusCore;
  private readonly prefix: string;
  private readonly replicationFactor: number;
  private readonly publishTimeoutMs: number;
  private readonly maxPending: number;
  private readonly subscriptions = new Set<KafkaSubscription>();
  /** Topics known to exist (or being created), by Kafka name. */
  private readonly topics = new Map<string, Promise<string>>();
  private producerReady: Promise<Producer> | undefined;
  private adminReady: Promise<Admin> | undefined;
  private pending = 0;
  /** Records waiting for the next produce request, and the loop sending them (when running). */
  private readonly outbox: Outgoing[] = [];
  private flushing: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: KafkaBusOptions) {
    if (options.brokers.length === 0) throw new RangeError('KafkaBus needs at least one broker');
    const partitions = options.partitions ?? 16;
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
    }
    this.prefix = options.topicPrefix ?? '';
    this.replicationFactor = options.replicationFactor ?? 1;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5000;
    this.maxPending = options.maxPendingPublishes ?? 10_000;
    const clientId = options.clientId ?? 'herald';
    const log = options.log ?? defaultLog;
    const kafka = new KafkaClient({
      clientId,
      brokers: options.brokers,
      connectionTimeout: 1000,
      // kafkajs extends it for requests that block by design (fetch long-poll, join).
      requestTimeout: 5000,
      // Admin and producer: give up within about 3 s of a refused connection, inside the publish
      // deadline, so a publish reports the cause rather than a bare timeout.
      retry: { retries: 4, initialRetryTime: 100, maxRetryTime: 1000 },
      logLevel: LEVELS[options.logLevel ?? 'warn'],
      logCreator: () => (entry: LogEntry) => log(toLogEntry(entry)),
      ...(options.socketFactory ? { socketFactory: options.socketFactory } : {}),
    });
    const { baseMs, maxMs } = options.retryBackoff ?? { baseMs: 50, maxMs: 1000 };
    this.core = {
      kafka,
      clientId,
      partitions,
      consumer: {
        sessionTimeoutMs: options.consumer?.sessionTimeoutMs ?? 30_000,
        rebalanceTimeoutMs: options.consumer?.rebalanceTimeoutMs ?? 60_000,
        heartbeatIntervalMs: options.consumer?.heartbeatIntervalMs ?? 3000,
        maxWaitTimeMs: options.consumer?.maxWaitTimeMs ?? 500,
      },
      // Consumers outlive outages: after these retries kafkajs restarts the consumer, which rejoins.
      consumerRetry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
      onError: options.onError ?? defaultOnError,
      backoffMs: (attempt) => Math.min(maxMs, baseMs * 2 ** (attempt - 1)),
      admin: () => this.admin(),
      forget: (s) => this.subscriptions.delete(s),
    };
  }

  async publish(topic: string, key: string, value: Buffer): Promise<void> {
    if (this.closing) throw new Error('KafkaBus is closed');
    if (this.pending >= this.maxPending) {
      throw new BusUnavailableError(`Kafka is not keeping up: ${this.pending} publishes already waiting`);
    }
    this.pending++;
    try {
      await withDeadline(this.send(topic, key, value), this.publishTimeoutMs);
    } catch (err) {
      throw toPublishError(err);
    } finally {
      this.pending--;
    }
  }

  async subscribe(
    topic: string,
    options: BusSubscribeOptions,
    handler: BusHandler,
  ): Promise<BusSubscription> {
    if (this.closing) throw new Error('KafkaBus is closed');
    const kafkaTopic = await this.ensureTopic(topic);
    if (this.closing) throw new Error('KafkaBus is closed');
    const subscription = new KafkaSubscription(this.core, topic, kafkaTopic, options.group, handler);
    this.subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (err) {
      await subscription.close();
      throw err;
    }
    return subscription;
  }

  /** Closes every subscription (waiting for in-flight handlers), then the clients. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  onModuleDestroy(): Promise<void> {
    return this.close();
  }

  private async shutdown(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    // Publishes already accepted leave before the producer closes (flush settles every one of them).
    await this.flushing;
    const clients: Promise<void>[] = [];
    if (this.producerReady) clients.push(this.producerReady.then((p) => p.disconnect()));
    if (this.adminReady) clients.push(this.adminReady.then((a) => a.disconnect()));
    // A client that never connected has nothing to close.
    await Promise.allSettled(clients);
  }

  /**
   * Queues the record for the next produce request. With one request in flight (which the
   * idempotent producer's ordering needs), publishes that arrive while a request is out wait and
   * leave together in the next one, in arrival order, instead of one request each: the producer
   * sends as many records per round trip as the callers offer, up to MAX_BATCH_RECORDS.
   */
  private send(topic: string, key: string, value: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.outbox.push({ topic, key, value, resolve, reject });
      if (!this.flushing) this.flushing = this.flush();
    });
  }

  private async flush(): Promise<void> {
    // Publishes of the current tick join the first request too.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.outbox.length > 0) {
      const batch = this.outbox.splice(0, MAX_BATCH_RECORDS);
      try {
        await this.sendBatch(batch);
        for (const r of batch) r.resolve();
      } catch (err) {
        if (isProducerStateError(err)) this.resetProducer();
        for (const r of batch) r.reject(err);
      }
    }
    this.flushing = undefined;
  }

  private async sendBatch(batch: readonly Outgoing[]): Promise<void> {
    const byTopic = new Map<string, { key: string; value: Buffer }[]>();
    for (const r of batch) {
      let messages = byTopic.get(r.topic);
      if (!messages) byTopic.set(r.topic, (messages = []));
      messages.push({ key: r.key, value: r.value });
    }
    const topicMessages = await Promise.all(
      [...byTopic].map(async ([topic, messages]) => ({ topic: await this.ensureTopic(topic), messages })),
    );
    const producer = await this.producer();
    await producer.sendBatch({ acks: -1, topicMessages });
  }

  private producer(): Promise<Producer> {
    if (!this.producerReady) {
      const producer = this.core.kafka.producer({
        idempotent: true,
        // One request in flight: the idempotent producer's retries keep per-partition order.
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false,
      });
      this.producerReady = connectOnce(producer, () => (this.producerReady = undefined));
    }
    return this.producerReady;
  }

  /**
   * After a produce request timed out while the broker was frozen, the idempotent producer's
   * sequence numbers can disagree with the broker's (OUT_OF_ORDER_SEQUENCE_NUMBER and kin, which
   * kafkajs does not retry). A new producer gets a new producer id and starts clean; the failed
   * publishes are answered 503, and a caller that retries with its idempotency key re-sends the
   * same record, which gateways de-duplicate by offset.
   */
  private resetProducer(): void {
    const old = this.producerReady;
    this.producerReady = undefined;
    void old?.then((p) => p.disconnect()).catch(() => undefined);
  }

  private admin(): Promise<Admin> {
    if (!this.adminReady) {
      const admin = this.core.kafka.admin();
      this.adminReady = connectOnce(admin, () => (this.adminReady = undefined));
    }
    return this.adminReady;
  }

  /** The Kafka name of `topic`, created with the configured partitions if missing. */
  private ensureTopic(topic: string): Promise<string> {
    const name = this.prefix + topic;
    let ready = this.topics.get(name);
    if (!ready) {
      ready = this.createTopic(name);
      this.topics.set(name, ready);
      ready.catch(() => this.topics.delete(name)); // try again on the next call
    }
    return ready;
  }

  private async createTopic(name: string): Promise<string> {
    const admin = await this.admin();
    // Right after a topic is created (by this node or by another one starting at the same time)
    // the broker can answer the leader check with UNKNOWN_TOPIC_OR_PARTITION for a moment, which
    // kafkajs does not retry; a node starting then would fail its start.
    await whileSettling(
      // Resolves false when the topic exists (another node created it first).
      () =>
        admin.createTopics({
          waitForLeaders: true,
          topics: [
            { topic: name, numPartitions: this.core.partitions, replicationFactor: this.replicationFactor },
          ],
        }),
      (err) => err.type === 'UNKNOWN_TOPIC_OR_PARTITION',
    );
    return name;
  }
}

/** One `subscribe`: a kafkajs consumer of one topic. */
class KafkaSubscription implements BusSubscription {
  private readonly consumer: Consumer;
  private readonly groupId: string;
  /** Set by close(): no handler starts after it. */
  private stopping = false;
  private closing: Promise<void> | undefined;
  /** Cuts short a redelivery backoff when the subscription closes. */
  private readonly wakers = new Set<() => void>();
  /** Start positions fixed before joining: the topic's latest offsets, by partition. */
  private readonly start0 = new Map<number, string>();
  /** Group: partitions that had no committed offset before this member joined. */
  private readonly uncommitted = new Set<number>();
  /** Broadcast: the next offset to hand out, by partition (where to resume after a rejoin). */
  private readonly positions = new Map<number, string>();
  private joins = 0;
  private joinWaiter: { resolve(): void; reject(err: unknown): void } | undefined;
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly core: BusCore,
    private readonly topic: string,
    private readonly kafkaTopic: string,
    private readonly group: string | undefined,
    private readonly handler: BusHandler,
  ) {
    this.groupId =
      group === undefined
        ? `${kafkaTopic}:broadcast:${core.clientId}:${randomUUID()}`
        : `${kafkaTopic}:${group}`;
    const c = core.consumer;
    this.consumer = core.kafka.consumer({
      groupId: this.groupId,
      sessionTimeout: c.sessionTimeoutMs,
      rebalanceTimeout: c.rebalanceTimeoutMs,
      heartbeatInterval: c.heartbeatIntervalMs,
      maxWaitTimeInMs: c.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      // kafkajs restarts a crashed consumer (after an outage longer than its retries), even when
      // the crash raced with disconnect(): never once this subscription is closing.
      retry: { ...core.consumerRetry, restartOnFailure: async () => !this.stopping },
    });
  }

  /** Resolves once this member has joined and its start positions are fixed. */
  async start(): Promise<void> {
    const admin = await this.core.admin();
    // Everything published after this read is handed out (to this subscriber, or to its group).
    for (const p of await startOffsets(admin, this.kafkaTopic)) this.start0.set(p.partition, p.offset);
    if (this.group === undefined) {
      for (const [partition, offset] of this.start0) this.positions.set(partition, offset);
    } else {
      const [committed] = await admin.fetchOffsets({ groupId: this.groupId, topics: [this.kafkaTopic] });
      for (const p of committed?.partitions ?? [])
        if (Number(p.offset) < 0) this.uncommitted.add(p.partition);
    }
    if (this.stopping) throw new Error('subscription closed while starting');

    const joined = new Promise<void>((resolve, reject) => (this.joinWaiter = { resolve, reject }));
    const events = this.consumer.events;
    this.listeners.push(
      this.consumer.on(events.GROUP_JOIN, (e) => this.onJoin(e.payload.memberAssignment)),
      this.consumer.on(events.CRASH, (e) => this.onCrash(e.payload.error, e.payload.restart)),
    );
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.kafkaTopic], fromBeginning: false });
    await this.consumer.run({
      // Broadcast subscribers commit nothing: their group dies with them.
      autoCommit: this.group !== undefined,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.core.partitions,
      eachBatch: (payload) => this.eachBatch(payload),
    });
    await joined;
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.stopping = true;
      for (const wake of this.wakers) wake();
      this.joinWaiter?.reject(new Error('subscription closed while joining'));
      // disconnect() waits for the batch in hand, whose loop stops before its next record.
      this.closing = this.consumer
        .disconnect()
        .catch((err: unknown) => this.core.onError(err, this.context()))
        .finally(() => {
          for (const off of this.listeners) off();
          this.core.forget(this);
        });
    }
    return this.closing;
  }

  /**
   * Called synchronously by kafkajs after each join, before the next fetch: seeks placed here
   * apply to the first fetch of the new assignment.
   */
  private onJoin(assignment: Record<string, number[]>): void {
    if (this.stopping) {
      // A restart that was under way when close() stopped the consumer: stop it again.
      this.consumer.disconnect().catch((err: unknown) => this.core.onError(err, this.context()));
      return;
    }
    this.joins++;
    for (const partition of assignment[this.kafkaTopic] ?? []) {
      let offset: string | undefined;
      if (this.group === undefined) offset = this.positions.get(partition);
      else if (this.joins === 1 && this.uncommitted.has(partition)) offset = this.start0.get(partition);
      // With autoCommit (groups) kafkajs commits the sought offset before fetching.
      if (offset !== undefined) this.consumer.seek({ topic: this.kafkaTopic, partition, offset });
    }
    const waiter = this.joinWaiter;
    this.joinWaiter = undefined;
    waiter?.resolve();
  }

  private onCrash(error: Error, restart: boolean): void {
    const waiter = this.joinWaiter;
    if (waiter) {
      this.joinWaiter = undefined;
      waiter.reject(error);
      return;
    }
    if (this.stopping) return;
    this.core.onError(
      restart ? error : new Error(`consumer stopped for good: ${error.message}`, { cause: error }),
      this.context(),
    );
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary } = payload;
    const lag = consumerLag.labels(this.topic, String(batch.partition), this.group ?? 'broadcast');
    const highWatermark = Number(batch.highWatermark);
    lag.set(batch.messages.length === 0 ? 0 : Number(batch.offsetLagLow()) + 1);
    for (const message of batch.messages) {
      // Stale: a seek is pending for this partition (rejoin); the rest of the batch is obsolete.
      if (this.stopping || !isRunning() || isStale()) return;
      const record = this.toRecord(batch.partition, message);
      if (this.group === undefined) {
        await this.deliverBroadcast(record);
        this.positions.set(batch.partition, String(record.offset + 1));
      } else if (!(await this.deliverToGroup(record, heartbeat))) {
        return; // closing: the record stays uncommitted and goes to the partition's next owner
      }
      resolveOffset(message.offset);
      lag.set(Math.max(0, highWatermark - 1 - record.offset));
      if (this.group !== undefined) await commitOffsetsIfNecessary();
      // Throws when the group is rebalancing: kafkajs commits what was resolved and rejoins.
      await heartbeat();
    }
  }

  private async deliverBroadcast(record: BusRecord): Promise<void> {
    try {
      await this.handler(record);
    } catch (err) {
      // Broadcast consumers fill gaps from history, not from the bus: report and go on.
      this.core.onError(err, this.context(record));
    }
  }

  /** Hands `record` out until its handler resolves (true) or the subscription closes (false). */
  private async deliverToGroup(record: BusRecord, heartbeat: () => Promise<void>): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      if (this.stopping) return false;
      try {
        await this.handler(record);
        return true;
      } catch (err) {
        this.core.onError(err, this.context(record));
      }
      if (!(await this.pause(this.core.backoffMs(attempt)))) return false;
      // A rebalance meanwhile throws here: the record goes to whoever owns the partition next.
      await heartbeat();
    }
  }

  /** Waits `ms`; false when the subscription closed meanwhile. */
  private pause(ms: number): Promise<boolean> {
    if (this.stopping) return Promise.resolve(false);
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve(!this.stopping);
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  private toRecord(partition: number, message: KafkaMessage): BusRecord {
    return {
      topic: this.topic,
      key: message.key?.toString() ?? '',
      value: message.value ?? EMPTY,
      partition,
      offset: Number(message.offset),
    };
  }

  private context(record?: BusRecord): KafkaBusErrorContext {
    const ctx: KafkaBusErrorContext = { topic: this.topic };
    if (this.group !== undefined) ctx.group = this.group;
    if (record) {
      ctx.partition = record.partition;
      ctx.record = record;
    }
    return ctx;
  }
}

/** Connects `client` once; a failed connect is forgotten so the next call tries again. */
function connectOnce<T extends { connect(): Promise<void> }>(client: T, forget: () => void): Promise<T> {
  const ready = client.connect().then(() => client);
  ready.catch(forget);
  return ready;
}

class DeadlineError extends Error {}

/** `promise`, or a DeadlineError after `ms`; a late rejection of `promise` is ignored. */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`no acknowledgement within ${ms} ms`)), ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Runs an admin call, again while it fails with a protocol error that only says a new topic is still
 * settling (`settling`): at most 10 attempts with a growing delay (about 5 s in all), as kafkajs does
 * for its own requests. Any other error passes through at once.
 */
async function whileSettling<T>(
  call: () => Promise<T>,
  settling: (err: InstanceType<typeof KafkaJSProtocolError>) => boolean,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof KafkaJSProtocolError && settling(err)) || attempt >= 10) throw err;
      await new Promise<void>((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

/**
 * The topic's latest offsets. A topic that another node has just created may still be electing
 * its partition leaders (createTopics waits for leaders only in the node that created it), and
 * the broker answers NOT_LEADER meanwhile: retriable protocol errors are retried.
 */
function startOffsets(
  admin: { fetchTopicOffsets(topic: string): Promise<{ partition: number; offset: string }[]> },
  topic: string,
): Promise<{ partition: number; offset: string }[]> {
  return whileSettling(
    () => admin.fetchTopicOffsets(topic),
    (err) => err.retriable,
  );
}

/**
 * A Kafka error that says the request itself is wrong (too large, invalid topic) passes through;
 * every other failure (no connection, timeouts, no leader, retries exhausted) is "unavailable".
 */
/** Producer-state refusals: the producer must start over; the write itself may be retried. */
const PRODUCER_STATE_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'DUPLICATE_SEQUENCE_NUMBER',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'UNKNOWN_PRODUCER_ID',
]);

function isProducerStateError(err: unknown): boolean {
  return err instanceof KafkaJSProtocolError && PRODUCER_STATE_ERRORS.has(err.type);
}

/** What `publish` rejects with: BusUnavailableError (503) unless Kafka refused the write for good. */
export function toPublishError(err: unknown): unknown {
  if (err instanceof KafkaJSProtocolError && !err.retriable && !isProducerStateError(err)) return err;
  if (err instanceof DeadlineError) return new BusUnavailableError(`Kafka: ${err.message}`, err);
  const reason = err instanceof Error ? err.message : String(err);
  return new BusUnavailableError(`Kafka cannot take the write (${reason}); retry later`, err);
}

function toLogEntry(entry: LogEntry): KafkaBusLogEntry {
  const { message, timestamp: _timestamp, ...extra } = entry.log;
  const level =
    entry.level === LogLevel.ERROR
      ? 'error'
      : entry.level === LogLevel.WARN
        ? 'warn'
        : entry.level === LogLevel.INFO
          ? 'info'
          : 'debug';
  return { level, namespace: entry.namespace, message, extra };
}

function defaultLog(entry: KafkaBusLogEntry): void {
  console.error(`KafkaBus ${entry.level} [${entry.namespace}] ${entry.message}`, entry.extra);
}

function defaultOnError(error: unknown, ctx: KafkaBusErrorContext): void {
  const where = `${ctx.topic}${ctx.partition === undefined ? '' : `[${ctx.partition}]`}${
    ctx.group === undefined ? '' : ` group ${ctx.group}`
  }`;
  console.error(`KafkaBus: handler failed on ${where}`, error);
}
