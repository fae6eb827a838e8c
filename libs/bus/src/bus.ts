/**
 * Bus: a durable, keyed log of records, ordered per key (DESIGN.md "Kafka topics").
 *
 * Guarantees every driver keeps (checked by libs/testing `busContract`):
 * - Records with the same key go to the same partition of their topic and are handed to every
 *   consumer in publish order. Records with different keys have no order between them.
 * - `publish` resolves once the record is durable in the driver's sense (memory: appended to the
 *   in-process log; Kafka: acknowledged by all in-sync replicas) and rejects when it cannot be.
 * - Consumer group (`group` set): each record is handled by exactly one live member of the group;
 *   the member's position is committed only after the handler's promise resolves, so a record whose
 *   handler rejected, or whose member died, is handed out again (at-least-once). A partition is
 *   processed sequentially: the next record of a partition is not handed out before the previous
 *   one's handler resolved. Handlers must be idempotent (de-duplicate by message id).
 *   A group seen for the first time starts from the latest position; after that it resumes from its
 *   committed position, so records published while it had no live member are handled when one
 *   subscribes (within the driver's retention).
 * - Broadcast (no `group`): every subscriber receives every record published after its
 *   `subscribe` resolved (from the latest position), in per-key order, one record of a partition at
 *   a time; nothing is committed, and a handler rejection is logged and skipped (broadcast consumers
 *   are gateways that fill gaps from history, not from the bus).
 * - `close()` on a subscription resolves after in-flight handlers finished (a group member's handled
 *   records stay committed); no handler runs after. It is idempotent.
 * - `close()` on the bus closes every subscription as above; later `publish` and `subscribe` calls
 *   reject. It is idempotent.
 */
export interface BusRecord {
  topic: string;
  key: string;
  value: Buffer;
  partition: number;
  /** Position of the record within its partition, increasing from 0. */
  offset: number;
}

export type BusHandler = (record: BusRecord) => Promise<void>;

export interface BusSubscribeOptions {
  /** Consumer group id; omitted for a broadcast subscriber. */
  group?: string;
}

export interface BusSubscription {
  close(): Promise<void>;
}

export interface Bus {
  publish(topic: string, key: string, value: Buffer): Promise<void>;
  subscribe(topic: string, options: BusSubscribeOptions, handler: BusHandler): Promise<BusSubscription>;
  close(): Promise<void>;
}

export const BUS = Symbol('Bus');

/** Topic names (DESIGN.md). Keys always start with the app id: tenants never share a key. */
export const Topics = {
  PUBLICATIONS: 'herald.publications',
  PUSH: 'herald.push',
  EVENTS: 'herald.events',
  CONTROL: 'herald.control',
} as const;
