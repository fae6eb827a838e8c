import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { DisconnectDef, ReconnectAdvice } from '@herald/protocol';
import { DisconnectCode, encodeFrame } from '@herald/protocol';
import { transportStats, type OutFrame, type Transport, type WriteScheduler } from '@herald/core';
import { OutboundQueue, SLOW_CLOSE_GRACE_MS } from './outbound-queue.js';

/**
 * What the WebSocket transports share (the native one below and the Pusher one in libs/pusher):
 * they write pre-framed bytes (OutFrame.wsFrame, built once per publication and format) straight
 * to the TCP socket, coalescing a tick's frames into one corked write. `ws` still parses incoming
 * frames and writes control frames; that is safe because permessage-deflate is off, so `ws`
 * writes whole frames synchronously and never interleaves with ours.
 *
 * The outbound queue is bounded (OutboundQueue): bytes queued here plus bytes Node has not yet
 * handed to the kernel may not exceed `maxQueueBytes`; past that the client is too slow and is cut
 * off with the SLOW code, so one stalled reader never grows memory or delays anyone else.
 * Subclasses decide what a close says on the wire.
 */
export abstract class WsFrameTransport extends OutboundQueue<Buffer> implements Transport {
  readonly kind = 'websocket' as const;
  /** Why the session closed, in native terms (the core reads it when the socket closes). */
  closeDef: DisconnectDef | undefined = undefined;

  constructor(
    protected readonly ws: WebSocket,
    private readonly socket: Socket,
    scheduler: WriteScheduler,
    maxQueueBytes: number,
  ) {
    super(scheduler, maxQueueBytes);
  }

  /** Queues the frame's WebSocket bytes for this tick's write; false when closing or closed as slow. */
  send(frame: OutFrame): boolean {
    if (this.closeDef) return false;
    const buf = frame.wsFrame();
    return this.offer(buf, buf.length, this.socket.writableLength);
  }

  flush(): void {
    const q = this.takeQueued();
    if (q === null || this.socket.destroyed) return;
    if (q.length === 1) {
      this.socket.write(q[0]);
      return;
    }
    this.socket.cork();
    for (let i = 0; i < q.length; i++) this.socket.write(q[i]);
    this.socket.uncork();
  }

  /**
   * Closes as slow with `code` and `reason` on the wire. Drops what is queued here; the close frame
   * follows what the kernel already holds. A peer that reads slowly still learns the code; one that
   * does not read at all is cut off after a short grace instead of pinning its buffers for ws's
   * 30 s close timeout.
   */
  protected closeSlow(code: number, reason: string): void {
    transportStats.slowDisconnects.add('websocket');
    this.closeDef = DisconnectCode.SLOW;
    this.takeQueued();
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), SLOW_CLOSE_GRACE_MS).unref();
  }
}

/** The native protocol's WebSocket transport: closes carry the native code and reason. */
export class WsTransport extends WsFrameTransport {
  override close(def: DisconnectDef, reason?: string, advice?: ReconnectAdvice): void {
    if (this.closeDef) return;
    if (def === DisconnectCode.SLOW) {
      this.closeSlow(def.code, reason ?? def.reason);
      return;
    }
    this.closeDef = def;
    this.flush();
    const why = reason ?? def.reason;
    // The close frame has room for a code and a short reason only: advice travels in a
    // `disconnect` push right before it, which clients treat like the close itself (protocol §2.7).
    if (advice) {
      const push = encodeFrame({
        push: 'disconnect',
        code: def.code,
        reason: why,
        reconnect: def.reconnect,
        advice,
      });
      this.ws.send(push);
    }
    this.ws.close(def.code, why);
  }
}
