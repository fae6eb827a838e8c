import type { WebhookEvent } from './events.js';

/** One event waiting for an endpoint. */
export interface QueuedEvent {
  appId: string;
  endpointId: string;
  event: WebhookEvent;
  /** When it was queued for this endpoint (retention counts from here). */
  queuedAt: number;
  /** Serialized size, for batching. */
  bytes: number;
}

/** What one POST carries; its id is the `webhook-id`, unchanged across retries. */
export interface Batch {
  id: string;
  appId: string;
  endpointId: string;
  events: QueuedEvent[];
  attempts: number;
  nextAttemptAt: number;
  lastError?: string;
}

export interface DeadLetter {
  appId: string;
  endpointId: string;
  event: WebhookEvent;
  reason: string;
  attempts: number;
  deadAt: number;
  lastError?: string;
}

export interface WebhookStoreStats {
  /** Events queued or in a batch awaiting (re)delivery. */
  pending: number;
  /** Batches that failed at least once and wait for a retry. */
  retrying: number;
  /** queuedAt of the oldest pending event; undefined when none. */
  oldestPendingAt?: number;
  deadLetters: number;
}

/** Per-app share of one claim: `inflight` counts the caller's deliveries in flight per app. */
export interface ClaimFairness {
  perApp: number;
  inflight: ReadonlyMap<string, number>;
}

/**
 * WebhookStore: the durable outbox between the bus and the endpoints. The dispatcher commits a
 * bus record once its event is queued here for every matching endpoint, so a slow endpoint never
 * holds a bus partition (and so never delays another endpoint or app).
 *
 * Guarantees:
 * - Per endpoint, events leave in the order they were queued (FIFO), so one channel's events reach
 *   an endpoint in order. A batch is formed once from the head of the queue and keeps its id and
 *   events until it is completed or dead-lettered: a retry resends exactly the same batch.
 * - `enqueue` is idempotent per (endpoint, event id) for events seen within the dedup window, so a
 *   bus record handed out again after a crash is not delivered twice.
 * - `claim` leases an endpoint to one owner until `now + leaseMs`: at most one batch per endpoint is
 *   in flight cluster-wide. A lease that is not released (the owner died) expires, and the next
 *   claim resends the same batch (same `webhook-id`).
 * - Queue length per endpoint is bounded: beyond `maxQueued`, `enqueue` answers `overflow` and the
 *   event goes to the dead letters instead.
 */
export interface WebhookStore {
  enqueue(event: QueuedEvent, maxQueued: number): Promise<'queued' | 'duplicate' | 'overflow'>;
  /**
   * Leases up to `limit` due endpoints and returns their current batch (forming it if needed).
   * With `fairness`, at most `perApp - inflight(app)` of them belong to one app, and due endpoints
   * are taken round-robin across apps (every app's most due endpoint before any app's second), so
   * one app with many due or slow endpoints cannot take every slot.
   */
  claim(
    owner: string,
    now: number,
    leaseMs: number,
    limit: number,
    batching: { maxEvents: number; maxBytes: number; newId: () => string },
    fairness?: ClaimFairness,
  ): Promise<Batch[]>;
  complete(batch: Batch, owner: string): Promise<void>;
  retry(batch: Batch, owner: string, nextAttemptAt: number, error: string): Promise<void>;
  /**
   * Moves the batch's events to the dead letters; with `wholeEndpoint` the queue behind it too.
   * Returns what was moved, in queue order (nothing when the owner no longer holds the lease).
   */
  deadLetter(
    batch: Batch,
    owner: string,
    reason: string,
    now: number,
    wholeEndpoint?: boolean,
  ): Promise<DeadLetter[]>;
  /** Earliest time a claim could return something; undefined when nothing is pending. */
  nextDueAt(now: number): Promise<number | undefined>;
  /** Newest first, at most `limit`. */
  listDeadLetters(appId: string, limit: number): Promise<DeadLetter[]>;
  /** Queues the app's dead letters again (all, or those with these event ids); returns how many. */
  replay(appId: string, now: number, eventIds?: readonly string[]): Promise<number>;
  disableEndpoint(appId: string, endpointId: string): Promise<void>;
  enableEndpoint(appId: string, endpointId: string): Promise<void>;
  isDisabled(appId: string, endpointId: string): Promise<boolean>;
  stats(): Promise<WebhookStoreStats>;
}

export const WEBHOOK_STORE = Symbol('WebhookStore');
