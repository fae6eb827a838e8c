import type { StreamPosition } from '@herald/protocol';
import type { HistoryEntry } from '@herald/history';
import { OutFrame, pubFrameJson, withOffset } from './out-frame.js';
import type { Session } from './session.js';

/** Reads history entries after a position (at most `limit`); used to fill gaps. */
export type GapReader = (
  since: StreamPosition,
  limit: number,
) => Promise<{ entries: HistoryEntry[]; position: StreamPosition }>;

interface Incoming {
  offset: number;
  epoch: string;
  frame: OutFrame;
}

interface Joiner {
  /** -1 while the joiner is still reading its starting position; then the offset it has up to. */
  watermark: number;
  buffer: Incoming[];
}

/** Publications a stream may hold while filling a gap before it gives up on continuity. */
export const MAX_PENDING = 10_000;

/**
 * One channel's publications on this node, delivered to local subscribers in offset order
 * (DESIGN.md "Delivery, history and recovery"):
 * - a duplicate (offset at or below the last delivered) is dropped: the bus is at-least-once;
 * - a gap (offset n+2 before n+1) holds later publications and fills the gap from history, never
 *   skipping silently; if history cannot fill it (trimmed, epoch changed, store down), every
 *   subscriber is disconnected with INSUFFICIENT_STATE so it recovers, or learns it cannot;
 * - a subscriber that joins while publications flow is a "joiner": publications are buffered for it
 *   until its subscribe has read its starting position, and it is promoted to a plain subscriber
 *   once the stream has reached that position, so it sees each publication exactly once.
 * Channels without history have no offsets and use `deliverUnordered` only (at-most-once).
 */
export class ChannelStream {
  readonly subscribers = new Set<Session>();
  /** Allocated on the first joiner: most streams (e.g. personal channels) never have one. */
  private joinersMap: Map<Session, Joiner> | undefined;
  /** Offset of the last publication delivered; -1 until the first joiner reads the position. */
  lastOffset = -1;
  epoch = '';
  private queue: Incoming[] | undefined;
  private filling = false;

  constructor(
    readonly appId: string,
    readonly channel: string,
    private readonly readGap: GapReader,
    private readonly insufficient: (sessions: Session[]) => void,
  ) {}

  private get joiners(): Map<Session, Joiner> {
    return (this.joinersMap ??= new Map());
  }

  get size(): number {
    return this.subscribers.size + (this.joinersMap?.size ?? 0);
  }

  /** Join/leave pushes and publications of channels without history. */
  deliverUnordered(frame: OutFrame): void {
    for (const s of this.subscribers) s.send(frame);
    if (!this.joinersMap || this.joinersMap.size === 0) return;
    // Active joiners (position known, waiting for the stream to catch up) are live subscribers too.
    for (const [session, j] of this.joiners) if (j.watermark >= 0) session.send(frame);
  }

  onPublication(offset: number, epoch: string, frame: OutFrame): void {
    const inc = { offset, epoch, frame };
    if (this.lastOffset < 0 || this.filling) {
      this.enqueue(inc);
      return;
    }
    this.process(inc);
  }

  addJoiner(session: Session): void {
    this.joiners.set(session, { watermark: -1, buffer: [] });
  }

  /**
   * The joiner has read its starting position (and replied to the client): send what was buffered
   * after that position, and promote it once the stream has caught up.
   */
  completeJoin(session: Session, position: StreamPosition): void {
    const joiner = this.joiners.get(session);
    if (!joiner) return;
    if (this.lastOffset < 0) {
      this.epoch = position.epoch;
      this.lastOffset = position.offset;
    } else if (position.epoch !== this.epoch) {
      this.joiners.delete(session);
      this.insufficient([session]);
      return;
    }
    joiner.watermark = position.offset;
    for (const b of joiner.buffer) {
      if (b.epoch === this.epoch && b.offset > joiner.watermark) {
        session.send(b.frame);
        joiner.watermark = b.offset;
      }
    }
    joiner.buffer = [];
    if (this.lastOffset >= joiner.watermark) {
      this.joiners.delete(session);
      this.subscribers.add(session);
    }
    if (this.queue && !this.filling) this.drain();
  }

  remove(session: Session): void {
    this.subscribers.delete(session);
    this.joinersMap?.delete(session);
  }

  private enqueue(inc: Incoming): void {
    const q = (this.queue ??= []);
    q.push(inc);
    if (q.length > MAX_PENDING) {
      // Continuity cannot be kept within bounded memory: make everyone recover instead.
      this.queue = undefined;
      this.lastOffset = inc.offset;
      this.epoch = inc.epoch;
      this.giveUp();
    }
  }

  private process(inc: Incoming): void {
    if (inc.epoch !== this.epoch) {
      // The stream was lost and started anew: positions of the old epoch mean nothing now.
      this.epoch = inc.epoch;
      this.lastOffset = inc.offset;
      this.giveUp();
      return;
    }
    if (inc.offset <= this.lastOffset) return;
    if (inc.offset === this.lastOffset + 1) {
      this.deliver(inc);
      return;
    }
    this.filling = true;
    this.enqueue(inc);
    void this.fillGap(inc.offset);
  }

  private async fillGap(target: number): Promise<void> {
    const from = this.lastOffset;
    const missing = target - from - 1;
    let filled = false;
    try {
      const { entries, position } = await this.readGap({ offset: from, epoch: this.epoch }, missing);
      if (position.epoch === this.epoch && entries.length >= missing) {
        filled = true;
        for (let i = 0; i < missing; i++) {
          if (entries[i].offset !== from + 1 + i) {
            filled = false;
            break;
          }
        }
        if (filled && this.lastOffset === from) {
          for (let i = 0; i < missing; i++) {
            const e = entries[i];
            this.deliver({
              offset: e.offset,
              epoch: this.epoch,
              frame: new OutFrame(pubFrameJson(this.channel, withOffset(e.offset, e.value)), {
                channel: this.channel,
                offset: e.offset,
                epoch: this.epoch,
              }),
            });
          }
        }
      }
    } catch {
      filled = false;
    }
    if (!filled && this.lastOffset < target - 1) {
      this.lastOffset = target - 1;
      this.giveUp();
    }
    this.filling = false;
    this.drain();
  }

  private drain(): void {
    const q = this.queue;
    if (!q) return;
    this.queue = undefined;
    q.sort((a, b) => a.offset - b.offset);
    for (let i = 0; i < q.length; i++) {
      if (this.filling) {
        for (let j = i; j < q.length; j++) this.enqueue(q[j]);
        return;
      }
      this.process(q[i]);
    }
  }

  private deliver(inc: Incoming): void {
    this.lastOffset = inc.offset;
    const frame = inc.frame;
    for (const s of this.subscribers) s.send(frame);
    if (!this.joinersMap || this.joinersMap.size === 0) return;
    for (const [session, j] of this.joinersMap) {
      if (j.watermark < 0) {
        j.buffer.push(inc);
        if (j.buffer.length > MAX_PENDING) {
          this.joiners.delete(session);
          this.insufficient([session]);
        }
        continue;
      }
      if (inc.offset > j.watermark) {
        session.send(frame);
        j.watermark = inc.offset;
      }
      if (this.lastOffset >= j.watermark) {
        this.joiners.delete(session);
        this.subscribers.add(session);
      }
    }
  }

  private giveUp(): void {
    const all = [...this.subscribers, ...(this.joinersMap?.keys() ?? [])];
    this.subscribers.clear();
    this.joinersMap = undefined;
    if (all.length > 0) this.insufficient(all);
  }
}
