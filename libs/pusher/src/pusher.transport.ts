import type { OutFrame } from '@herald/core';
import { DisconnectCode, type DisconnectDef } from '@herald/protocol';
import { WsFrameTransport } from '@herald/realtime';
import { PusherCode, pusherCodeFor, type PusherErrorDef } from './pusher-codes.js';
import { PUSHER_FORMAT, PUSHER_PING, pusherFrame } from './pusher-format.js';
import type { LivenessTarget } from './pusher-liveness.js';

/**
 * A Herald session's transport for a Pusher protocol 7 connection. Like the native WsTransport it
 * writes pre-framed bytes to the socket through the bounded, tick-coalesced queue of
 * WsFrameTransport; what it writes is each frame's Pusher encoding (PUSHER_FORMAT, computed once
 * per frame for every connection).
 *
 * The one piece of per-connection state is presence bookkeeping: Pusher announces a member once
 * per user (first connection in, last connection out) where Herald pushes a join/leave per
 * connection, so the transport keeps, per presence channel, the connections of each user.
 */
export class PusherTransport extends WsFrameTransport implements LivenessTarget {
  /** Liveness (PusherLiveness): when the client last sent anything, and the unanswered ping's time. */
  lastActivityAt = Date.now();
  pingSentAt = 0;
  /** Presence channels (Pusher names): user id → that user's connections in the channel. */
  private readonly members = new Map<string, Map<string, Set<string>>>();

  override send(frame: OutFrame): boolean {
    if (this.closeDef) return false;
    const out = frame.as(PUSHER_FORMAT);
    if (out === null) return true;
    if (out.kind === 'member' && !this.trackMember(out.channel, out.added, out.user, out.client)) return true;
    return super.send(out.frame);
  }

  /** Sends a frame the connection built itself (handshake, subscription replies, errors). */
  write(frame: OutFrame): boolean {
    return super.send(frame);
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

  /** The server's `pusher:ping` after the activity timeout (PusherLiveness). */
  ping(): void {
    this.write(PUSHER_PING);
  }

  /** No message within the pong timeout of a ping. */
  timeout(): void {
    this.closeWith(PusherCode.PONG_NOT_RECEIVED, DisconnectCode.NO_PONG);
  }

  /** Closes for a native reason: Pusher clients get the matching Pusher code (pusherCodeFor). */
  override close(def: DisconnectDef, reason?: string): void {
    this.closeWith(pusherCodeFor(def), def, reason);
  }

  /** Sends `pusher:error` with the code, then closes the socket with it. */
  closeWith(code: PusherErrorDef, def: DisconnectDef, reason?: string): void {
    if (this.closeDef) return;
    const message = reason ?? code.message;
    if (def === DisconnectCode.SLOW) {
      this.closeSlow(code.code, message.slice(0, 120));
      return;
    }
    this.write(pusherFrame('pusher:error', { code: code.code, message }));
    this.closeDef = def;
    this.flush();
    this.ws.close(code.code, message.slice(0, 120));
  }
}
