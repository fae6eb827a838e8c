import { OutFrame, type FrameFormat } from '@herald/core';
import type { ClientInfo, Publication } from '@herald/protocol';
import { pusherNameOf, toPusherEvent } from './channels.js';

/**
 * A native frame as the Pusher protocol sees it, computed once per frame (OutFrame.as) and shared
 * by every Pusher connection, like the native WebSocket bytes are:
 * - `send`: write `frame` as is (channel events);
 * - `member`: a presence join or leave, which each connection turns into `member_added` /
 *   `member_removed` only for a user's first / last connection (`frame` is the event to send then);
 * - null: nothing a Pusher client understands (command replies, `unsub` pushes, native pings,
 *   channels whose names Pusher cannot express).
 */
export type PusherOut =
  | { kind: 'send'; frame: OutFrame }
  | { kind: 'member'; channel: string; added: boolean; user: string; client: string; frame: OutFrame }
  | null;

interface NativePush {
  push?: string;
  channel?: string;
  pub?: Publication;
  info?: ClientInfo;
}

/** `{"event", "channel"?, "data", "user_id"?}` as Pusher clients expect (data a JSON string). */
export function pusherFrame(event: string, data: unknown, channel?: string, userId?: string): OutFrame {
  const msg: Record<string, unknown> = { event };
  if (channel !== undefined) msg.channel = channel;
  msg.data = typeof data === 'string' ? data : JSON.stringify(data);
  if (userId !== undefined) msg.user_id = userId;
  return new OutFrame(JSON.stringify(msg));
}

export const PUSHER_PING = pusherFrame('pusher:ping', {});

export function translate(json: string): PusherOut {
  let msg: NativePush;
  try {
    msg = JSON.parse(json) as NativePush;
  } catch {
    return null;
  }
  // The native ping cycle does not reach Pusher connections: they are pinged on Pusher's
  // activity semantics instead (PusherLiveness).
  if (msg.push === 'ping') return null;
  if (typeof msg.channel !== 'string') return null;
  const channel = pusherNameOf(msg.channel);
  if (channel === undefined) return null;
  if (msg.push === 'pub' && msg.pub) {
    const { event, data } = toPusherEvent(msg.pub.data);
    const user = msg.pub.info?.user;
    const userId = channel.startsWith('presence-') && user ? user : undefined;
    return { kind: 'send', frame: pusherFrame(event, data, channel, userId) };
  }
  if ((msg.push === 'join' || msg.push === 'leave') && msg.info) {
    const added = msg.push === 'join';
    const user = msg.info.user;
    const data = added ? { user_id: user, user_info: msg.info.info ?? {} } : { user_id: user };
    return {
      kind: 'member',
      channel,
      added,
      user,
      client: msg.info.client,
      frame: pusherFrame(
        added ? 'pusher_internal:member_added' : 'pusher_internal:member_removed',
        data,
        channel,
      ),
    };
  }
  return null;
}

/** The Pusher wire format: one translation per native frame, whatever the number of connections. */
export const PUSHER_FORMAT: FrameFormat<PusherOut> = {
  encode: (frame) => translate(frame.json),
};
