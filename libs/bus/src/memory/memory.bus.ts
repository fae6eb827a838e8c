import type { OnModuleDestroy } from '@nestjs/common';
import type { Bus, BusHandler, BusRecord, BusSubscribeOptions, BusSubscription } from '../bus.js';

export interface BusErrorContext {
  topic: string;
  partition: number;
  /** Set for consumer-group errors. */
  group?: string;
  /** The record whose handler failed; absent when records were evicted unread. */
  record?: BusRecord;
}

/** Runs `fn` after `delayMs`; returns a function that cancels it. */
export type Scheduler = (fn: () => void, delayMs: number) => () => void;

export interface MemoryBusOptions {
  /** Partitions per topic; default 16. */
  partitions?: number;
  /** Handler failures (and evictions) are reported here; default console.error. */
  onError?: (error: unknown, context: BusErrorContext) => void;
  /** Timer for group redelivery backoff; default an unref'd setTimeout. */
  schedule?: Scheduler;
  /** Group redelivery backoff: baseMs doubling per failed attempt, capped at maxMs; default 50/1000. */
  retryBackoff?: { baseMs: number; maxMs: number };
  /**
   * Records kept per partition for readers that are behind (a group with no live member, a slow
   * broadcast handler). Beyond it the oldest are evicted and reported via onError, as Kafka's
   * retention would; default 100 000.
   */
  maxRecordsPerPartition?: number;
}

/** FNV-1a (32 bit) over UTF-16 code units: stable across processes and versions. */
export function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

/** What cursors need from the bus. */
interface Core {
  /** Set once by MemoryBus.close(): nothing is handed out after it. */
  closed: boolean;
  readonly onError: (error: unknown, context: BusErrorContext) => void;
  readonly schedule: Scheduler;
  backoffMs(attempt: number): number;
}

/**
 * One partition's log: records at offsets [first, end). Records every cursor has passed are trimmed,
 * so a caught-up log holds nothing.
 */
class PartitionLog {
  readonly cursors: Cursor[] = [];
  /** Queued for the next drain. */
  dirty = false;
  private records: (BusRecord | undefined)[] = [];
  /** Offset of records[0]. */
  private base = 0;
  /** Index of the first retained record. */
  private start = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  get end(): number {
    return this.base + this.records.length;
  }

  get first(): number {
    return this.base + this.start;
  }

  get retained(): number {
    return this.records.length - this.start;
  }

  at(offset: number): BusRecord {
    return this.records[offset - this.base] as BusRecord;
  }

  append(key: string, value: Buffer): void {
    this.records.push({ topic: this.topic, key, value, partition: this.partition, offset: this.end });
  }

  /** Drops what every cursor has passed. */
  trim(): void {
    let min = this.end;
    for (const c of this.cursors) if (c.next < min) min = c.next;
    this.trimTo(min);
  }

  /** Drops records below `offset`; compacts the array once the dead prefix dominates. */
  trimTo(offset: number): void {
    const upTo = Math.min(offset, this.end) - this.base;
    if (upTo <= this.start) return;
    if (upTo === this.records.length) {
      this.base = this.end;
      this.records = [];
      this.start = 0;
      return;
    }
    for (let i = this.start; i < upTo; i++) this.records[i] = undefined;
    this.start = upTo;
    if (this.start >= 1024 && this.start * 2 >= this.records.length) {
      this.records = this.records.slice(this.start);
      this.base += this.start;
      this.start = 0;
    }
  }
}

/** A subscription: one handler, with its in-flight count so close() can wait for it. */
class Subscriber implements BusSubscription {
  closed = false;
  private inflight = 0;
  private waiters: (() => void)[] = [];

  constructor(
    readonly handler: BusHandler,
    private readonly detach: (s: Subscriber) => void,
  ) {}

  begin(): void {
    this.inflight++;
  }

  end(): void {
    if (--this.inflight === 0 && this.waiters.length > 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.detach(this);
    }
    return this.inflight === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

/**
 * A reader's position in one partition, delivering one record at a time: the next record is handed
 * out only after the previous handler settled. Settling continues the pump from the promise
 * callback, so a backlog drains as a chain of microtasks with no timer and no extra promise.
 */
abstract class Cursor {
  /** Next offset to deliver (for a group: the committed position). */
  next: number;
  protected busy = false;
  protected current: BusRecord | undefined;
  protected owner: Subscriber | undefined;

  constructor(
    protected readonly core: Core,
    readonly log: PartitionLog,
    private readonly group: string | undefined,
  ) {
    this.next = log.end; // start from the latest position
  }

  /** The subscriber to hand the next record to, if any may receive one now. */
  protected abstract target(): Subscriber | undefined;

  pump(): void {
    if (this.busy || this.core.closed || this.next >= this.log.end) return;
    const owner = this.target();
    if (!owner) return;
    if (this.next < this.log.first) {
      const lost = this.log.first - this.next;
      this.next = this.log.first;
      this.core.onError(new Error(`${lost} records evicted unread (maxRecordsPerPartition)`), this.context());
      if (this.next >= this.log.end) return;
    }
    const record = this.log.at(this.next);
    this.busy = true;
    this.current = record;
    this.owner = owner;
    owner.begin();
    let result: Promise<void>;
    try {
      // Promise.resolve returns a native promise as is: no allocation on the common path.
      result = Promise.resolve(owner.handler(record));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(this.onResolved, this.onRejected);
  }

  protected readonly onResolved = (): void => {
    this.owner?.end();
    this.advance();
  };

  protected abstract readonly onRejected: (err: unknown) => void;

  protected advance(): void {
    this.next = (this.current as BusRecord).offset + 1;
    this.current = undefined;
    this.owner = undefined;
    this.busy = false;
    // Trim when caught up, and every 256 records on a long backlog (trim scans the cursors).
    if (this.next === this.log.end || (this.next & 255) === 0) this.log.trim();
    this.pump();
  }

  protected context(record?: BusRecord): BusErrorContext {
    return { topic: this.log.topic, partition: this.log.partition, group: this.group, record };
  }
}

/** A broadcast subscriber's cursor: rejections are reported and skipped. */
class BroadcastCursor extends Cursor {
  constructor(
    core: Core,
    log: PartitionLog,
    private readonly subscriber: Subscriber,
  ) {
    super(core, log, undefined);
  }

  protected target(): Subscriber | undefined {
    return this.subscriber.closed ? undefined : this.subscriber;
  }

  protected readonly onRejected = (err: unknown): void => {
    this.owner?.end();
    this.core.onError(err, this.context(this.current));
    this.advance();
  };
}

class Group {
  /** Live members in join order; partition p belongs to members[p % members.length]. */
  readonly members: Subscriber[] = [];
  readonly cursors: GroupCursor[] = [];
  constructor(readonly id: string) {}
}

/**
 * A consumer group's cursor for one partition; `next` is the committed position. The owner is
 * looked up at each hand-out, so a rebalance needs no bookkeeping: a partition moves to its new
 * owner at the next record, and never while a record is in flight or waiting for redelivery.
 */
class GroupCursor extends Cursor {
  private attempt = 0;
  private cancelRetry: (() => void) | undefined;

  constructor(
    core: Core,
    log: PartitionLog,
    private readonly g: Group,
  ) {
    super(core, log, g.id);
  }

  protected target(): Subscriber | undefined {
    const n = this.g.members.length;
    return n === 0 ? undefined : this.g.members[this.log.partition % n];
  }

  protected override advance(): void {
    this.attempt = 0;
    super.advance();
  }

  protected readonly onRejected = (err: unknown): void => {
    this.owner?.end();
    this.owner = undefined;
    this.core.onError(err, this.context(this.current));
    if (this.core.closed) return;
    // Stay busy (nothing else from this partition) until the same record is handed out again.
    this.cancelRetry = this.core.schedule(this.retry, this.core.backoffMs(++this.attempt));
  };

  private readonly retry = (): void => {
    this.cancelRetry = undefined;
    this.busy = false;
    this.pump(); // `next` was not advanced: the same record, to whoever owns the partition now
  };

  cancel(): void {
    this.cancelRetry?.();
    this.cancelRetry = undefined;
  }
}

class Topic {
  readonly logs: PartitionLog[];
  readonly groups = new Map<string, Group>();
  constructor(name: string, partitions: number) {
    this.logs = Array.from({ length: partitions }, (_, p) => new PartitionLog(name, p));
  }
}

const defaultSchedule: Scheduler = (fn, delayMs) => {
  const timer = setTimeout(fn, delayMs);
  timer.unref();
  return () => clearTimeout(timer);
};

/**
 * Bus in process memory: a partitioned log per topic, for the single-process broker and for
 * multi-node tests in one process. See the port for the guarantees. Delivery runs in a microtask
 * drain after publish() returned, never inside it.
 */
export class MemoryBus implements Bus, OnModuleDestroy {
  private readonly partitions: number;
  private readonly maxRecords: number;
  private readonly core: Core;
  private readonly topics = new Map<string, Topic>();
  private readonly subscribers = new Set<Subscriber>();
  private dirty: PartitionLog[] = [];
  private drainScheduled = false;
  private closing: Promise<void> | undefined;

  constructor(options: MemoryBusOptions = {}) {
    this.partitions = options.partitions ?? 16;
    if (!Number.isInteger(this.partitions) || this.partitions < 1) {
      throw new RangeError(`partitions must be a positive integer, got ${this.partitions}`);
    }
    this.maxRecords = options.maxRecordsPerPartition ?? 100_000;
    const { baseMs, maxMs } = options.retryBackoff ?? { baseMs: 50, maxMs: 1000 };
    this.core = {
      closed: false,
      onError: options.onError ?? defaultOnError,
      schedule: options.schedule ?? defaultSchedule,
      backoffMs: (attempt) => Math.min(maxMs, baseMs * 2 ** (attempt - 1)),
    };
  }

  async publish(topic: string, key: string, value: Buffer): Promise<void> {
    if (this.closing) throw new Error('MemoryBus is closed');
    const log = this.topic(topic).logs[partitionOf(key, this.partitions)];
    log.append(key, value);
    if (log.cursors.length === 0) {
      log.trimTo(log.end); // nobody reads this partition: keep nothing
      return;
    }
    if (log.retained > this.maxRecords) log.trimTo(log.first + 1);
    this.markDirty(log);
  }

  async subscribe(
    topic: string,
    options: BusSubscribeOptions,
    handler: BusHandler,
  ): Promise<BusSubscription> {
    if (this.closing) throw new Error('MemoryBus is closed');
    const t = this.topic(topic);
    let subscriber: Subscriber;
    if (options.group === undefined) {
      const cursors: BroadcastCursor[] = [];
      subscriber = new Subscriber(handler, (s) => {
        this.subscribers.delete(s);
        for (const c of cursors) {
          c.log.cursors.splice(c.log.cursors.indexOf(c), 1);
          c.log.trim();
        }
      });
      for (const log of t.logs) {
        const c = new BroadcastCursor(this.core, log, subscriber);
        log.cursors.push(c);
        cursors.push(c);
      }
    } else {
      const group = this.group(t, options.group);
      subscriber = new Subscriber(handler, (s) => {
        this.subscribers.delete(s);
        group.members.splice(group.members.indexOf(s), 1);
        this.markDirty(...t.logs); // rebalance: remaining members pick up its partitions
      });
      group.members.push(subscriber);
      this.markDirty(...t.logs); // rebalance: the new member may own partitions with a backlog
    }
    this.subscribers.add(subscriber);
    return subscriber;
  }

  /** Closes every subscription (waiting for in-flight handlers); later publishes reject. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.core.closed = true;
      for (const t of this.topics.values())
        for (const g of t.groups.values()) for (const c of g.cursors) c.cancel();
      this.closing = Promise.all([...this.subscribers].map((s) => s.close())).then(() => undefined);
    }
    return this.closing;
  }

  onModuleDestroy(): Promise<void> {
    return this.close();
  }

  /** Records held in memory for `topic` (for boundedness tests and metrics). */
  retained(topic: string): number {
    let n = 0;
    for (const log of this.topics.get(topic)?.logs ?? []) n += log.retained;
    return n;
  }

  private topic(name: string): Topic {
    let t = this.topics.get(name);
    if (!t) {
      t = new Topic(name, this.partitions);
      this.topics.set(name, t);
    }
    return t;
  }

  /** A group keeps its committed positions after its last member left, like a Kafka group. */
  private group(t: Topic, id: string): Group {
    let g = t.groups.get(id);
    if (!g) {
      g = new Group(id);
      for (const log of t.logs) {
        const c = new GroupCursor(this.core, log, g);
        log.cursors.push(c);
        g.cursors.push(c);
      }
      t.groups.set(id, g);
    }
    return g;
  }

  private markDirty(...logs: PartitionLog[]): void {
    for (const log of logs) {
      if (log.dirty) continue;
      log.dirty = true;
      this.dirty.push(log);
    }
    if (!this.drainScheduled && this.dirty.length > 0) {
      this.drainScheduled = true;
      queueMicrotask(this.drain);
    }
  }

  /** Offers new records to every cursor of the partitions published to since the last drain. */
  private readonly drain = (): void => {
    this.drainScheduled = false;
    const logs = this.dirty;
    this.dirty = [];
    for (const log of logs) {
      log.dirty = false;
      // A snapshot: a handler run by pump() may subscribe or close, changing the list.
      for (const c of log.cursors.slice()) c.pump();
    }
  };
}

function defaultOnError(error: unknown, ctx: BusErrorContext): void {
  const where = `${ctx.topic}[${ctx.partition}]${ctx.group === undefined ? '' : ` group ${ctx.group}`}`;
  console.error(`MemoryBus: handler failed on ${where}`, error);
}
