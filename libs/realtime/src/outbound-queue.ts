import type { Flushable, WriteScheduler } from '@herald/core';
import type { DisconnectDef } from '@herald/protocol';
import { DisconnectCode } from '@herald/protocol';

/** How long a slow client has to take its close (frame or final event) before its socket is destroyed. */
export const SLOW_CLOSE_GRACE_MS = 2000;

/**
 * A connection's bounded outbound queue, written once per tick (DESIGN.md "Hot path", "Limits"),
 * as the base of the transports that write a tick's frames in one write: the WebSocket ones
 * (native and Pusher: frame bytes) and SSE (frames, written as events). The first item queued in a
 * tick registers the transport with the WriteScheduler, which calls `flush` once in the next
 * `setImmediate`; flush takes the tick's items (`takeQueued`) and writes them together.
 *
 * The bound counts what is queued here plus what the layer below (socket, HTTP response) has not
 * handed to the kernel yet (`pending`); an item that would pass it is not queued and the client is
 * closed as slow (DisconnectCode.SLOW) instead of growing memory. The queue's state lives in the
 * transport itself and the caller passes each item's size, so queuing a frame allocates nothing
 * but the tick's array and calls nothing else.
 */
export abstract class OutboundQueue<T> implements Flushable {
  private queued: T[] | null = null;
  private queuedBytes = 0;

  protected constructor(
    protected readonly scheduler: WriteScheduler,
    protected readonly maxQueueBytes: number,
  ) {}

  /**
   * Queues `item` (`size` bytes) for this tick's write. False when the transport cannot take it:
   * past the bound it is closed SLOW (nothing is queued).
   */
  protected offer(item: T, size: number, pending: number): boolean {
    if (this.queuedBytes + size + pending > this.maxQueueBytes) {
      this.close(DisconnectCode.SLOW);
      return false;
    }
    if (this.queued === null) {
      this.queued = [item];
      this.scheduler.schedule(this);
    } else {
      this.queued.push(item);
    }
    this.queuedBytes += size;
    return true;
  }

  /** Empties the queue: what this tick queued, for flush to write (null: nothing), or to drop. */
  protected takeQueued(): T[] | null {
    const items = this.queued;
    this.queued = null;
    this.queuedBytes = 0;
    return items;
  }

  /** Writes what this tick queued (takeQueued) in one write; the WriteScheduler calls it. */
  abstract flush(): void;

  abstract close(def: DisconnectDef, reason?: string): void;
}
