import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Flushable, OutFrame, Transport, WriteScheduler } from '@herald/core';
import { DisconnectCode, type DisconnectDef } from '@herald/protocol';
import { pusherCodeFor, type PusherErrorDef } from './pusher-codes.js';
import { PUSHER_FORMAT, pusherFrame } from './pusher-format.js';

/** How long a slow client has to complete the close handshake before its socket is destroyed. */
const SLOW_CLOSE_GRACE_MS = 2000;

/**
 * A Herald session's transport for a Pusher protocol 7 connection. Like the native WsTransport it
 * writes pre-framed bytes to the socket through a bounded, tick-coalesced queue; what it writes is
 * each frame's Pusher encoding (PUSHER_FORMAT, computed once per frame for every connection).
 *
 * The one piece of per-connection state is presence bookkeeping: Pusher announces a member once
 * per user (first connection in, last connection out) where Herald pushes a join/leave per
 * connection, so the transport keeps, per presence channel, the connections of each user.
 */
export class PusherTransport implements Transport, Flushable {
  readonly kind = 'websocket' as const;
  private queue: Buffer[] | null = null;
  private queued = 0;
  /** The native reason the session closed (the core reads it; the wire gets the Pusher code). */
  closeDef: DisconnectDef | undefined = undefined;
  /** Presence channels (Pusher names): user id → that user's connections in the channel. */
  private readonly members = new Map<string, Map<string, Set<string>>>();

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Socket,
    private readonly scheduler: WriteScheduler,
    private readonly maxQueueBytes: number,
  ) {}

  send(frame: OutFrame): boolean {
    if (this.closeDef) return false;
    const out = frame.as(PUSHER_FORMAT);
    if (out === null) return true;
    if (out.kind === 'member' && !this.trackMember(out.channel, out.added, out.user, out.client)) return true;
    return this.write(out.frame);
  }

  /** Sends a frame the connection built itself (handshake, subscription replies, errors). */
  write(frame: OutFrame): boolean {
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

  /** Starts member bookkeeping of a presence channel from its member list at subscribe. */
  setMembers(channel: string, members: { user: string; client: string }[]): void {
    const map = new Map<string, Set<string>>();
    for (const m of members) {
      const set = map.get(m.user) ?? new Set<string>();
      set.add(m.client);
      map.set(m.user, set);
    }
    this.members.set(channel, map);
  }

  dropMembers(channel: string): void {
    this.members.delete(channel);
  }

  /** Whether a join/leave changes the channel's users (then it is announced). */
  private trackMember(channel: string, added: boolean, user: string, client: string): boolean {
    const map = this.members.get(channel);
    // Not subscribed (yet): the member list sent with subscription_succeeded will include it.
    if (!map) return false;
    const set = map.get(user);
    if (added) {
      if (set) {
        set.add(client);
        return false;
      }
      map.set(user, new Set([client]));
      return true;
    }
    if (!set || !set.delete(client)) return false;
    if (set.size > 0) return false;
    map.delete(user);
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

  /** Closes for a native reason: Pusher clients get the matching Pusher code (pusherCodeFor). */
  close(def: DisconnectDef, reason?: string): void {
    this.closeWith(pusherCodeFor(def), def, reason);
  }

  /** Sends `pusher:error` with the code, then closes the socket with it. */
  closeWith(code: PusherErrorDef, def: DisconnectDef, reason?: string): void {
    if (this.closeDef) return;
    const message = reason ?? code.message;
    if (def === DisconnectCode.SLOW) {
      this.closeDef = def;
      // Drop what is queued; a peer that does not read at all is cut off after a short grace.
      this.queue = null;
      this.queued = 0;
      this.ws.close(code.code, message.slice(0, 120));
      setTimeout(() => this.ws.terminate(), SLOW_CLOSE_GRACE_MS).unref();
      return;
    }
    this.write(pusherFrame('pusher:error', { code: code.code, message }));
    this.closeDef = def;
    this.flush();
    this.ws.close(code.code, message.slice(0, 120));
  }
}
