import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { DisconnectDef } from '@herald/protocol';
import { DisconnectCode } from '@herald/protocol';
import {
  transportStats,
  type Flushable,
  type OutFrame,
  type Transport,
  type WriteScheduler,
} from '@herald/core';

/**
 * WebSocket transport: writes pre-framed bytes (OutFrame.wsFrame, built once per publication)
 * straight to the TCP socket, coalescing a tick's frames into one corked write. `ws` still parses
 * incoming frames and writes control frames; that is safe because permessage-deflate is off, so
 * `ws` writes whole frames synchronously and never interleaves with ours.
 *
 * The outbound queue is bounded: bytes queued here plus bytes Node has not yet handed to the
 * kernel may not exceed `maxQueueBytes`; past that the client is too slow and is cut off with
 * the SLOW code, so one stalled reader never grows memory or delays anyone else.
 */
/** How long a slow client has to complete the close handshake before its socket is destroyed. */
export const SLOW_CLOSE_GRACE_MS = 2000;

export class WsTransport implements Transport, Flushable {
  readonly kind = 'websocket' as const;
  private queue: Buffer[] | null = null;
  private queued = 0;
  closeDef: DisconnectDef | undefined = undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Socket,
    private readonly scheduler: WriteScheduler,
    private readonly maxQueueBytes: number,
  ) {}

  send(frame: OutFrame): boolean {
    if (this.closeDef) return false;
    const buf = frame.wsFrame();
    if (this.queued + buf.length + this.socket.writableLength > this.maxQueueBytes) {
      this.close(DisconnectCode.SLOW);
      return false;
    }
    if (this.queue === null) {
      this.queue = [buf];
      this.scheduler.schedule(this);
    } else {
      this.queue.push(buf);
    }
    this.queued += buf.length;
    return true;
  }

  flush(): void {
    const q = this.queue;
    if (q === null) return;
    this.queue = null;
    this.queued = 0;
    if (this.socket.destroyed) return;
    if (q.length === 1) {
      this.socket.write(q[0]);
      return;
    }
    this.socket.cork();
    for (let i = 0; i < q.length; i++) this.socket.write(q[i]);
    this.socket.uncork();
  }

  close(def: DisconnectDef, reason?: string): void {
    if (this.closeDef) return;
    this.closeDef = def;
    if (def === DisconnectCode.SLOW) {
      transportStats.slowDisconnects.add('websocket');
      // Drop what is queued here; the close frame follows what the kernel already holds. A peer
      // that reads slowly still learns the code; one that does not read at all is cut off after a
      // short grace instead of pinning its buffers for ws's 30 s close timeout.
      this.queue = null;
      this.queued = 0;
      this.ws.close(def.code, reason ?? def.reason);
      setTimeout(() => this.ws.terminate(), SLOW_CLOSE_GRACE_MS).unref();
      return;
    }
    this.flush();
    this.ws.close(def.code, reason ?? def.reason);
  }
}
