/**
 * From a job's `push` section to what each provider receives, and the size checks that refuse a
 * payload before it is sent (a provider would answer 413 / INVALID_ARGUMENT for every device).
 *
 * - APNs: the JSON body (`aps` plus custom keys) is at most 4096 bytes (Apple's limit for regular
 *   remote notifications).
 * - FCM: the `data` entries (keys and values) plus the notification title and body are at most 4000
 *   bytes (FCM refuses messages over 4000 bytes of payload).
 */
import { Notification, Priority, PushType, type NotificationOptions } from 'apns2';
import type { Message } from 'firebase-admin/messaging';
import { ErrorCode, HeraldError } from '@herald/protocol';
import type { PushContent } from './push-job.js';

export const APNS_MAX_PAYLOAD_BYTES = 4096;
export const FCM_MAX_PAYLOAD_BYTES = 4000;

/** Keys of `data` that would collide with the APNs envelope. */
const APNS_RESERVED = new Set(['aps']);

export interface ApnsRequest {
  notification: Notification;
  /** Exact bytes of the body apns2 sends. */
  bytes: number;
}

/** The apns2 notification for one device; throws PUSH_PAYLOAD_TOO_LARGE over the limit. */
export function buildApnsNotification(
  content: PushContent,
  deviceToken: string,
  opts: { topic?: string; messageId: string; nowMs: number },
): ApnsRequest {
  const o = content.apns ?? {};
  const title = o.title ?? content.title;
  const body = o.body ?? content.body;
  const background = (o.push_type ?? (title || body ? 'alert' : 'background')) === 'background';
  const data: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(content.data ?? {})) if (!APNS_RESERVED.has(k)) data[k] = v;
  for (const [k, v] of Object.entries(o.payload ?? {})) if (!APNS_RESERVED.has(k)) data[k] = v;
  // The message id lets the app de-duplicate a push against the live publication it already showed.
  data['herald_message_id'] = opts.messageId;
  const options: NotificationOptions = {
    type: background ? PushType.background : PushType.alert,
    // Apple requires priority 5 for background pushes; `normal` asks for it on alerts too.
    priority: background || content.priority === 'normal' ? Priority.throttled : Priority.immediate,
    data,
  };
  if (!background) {
    options.alert =
      o.subtitle !== undefined
        ? { title: title ?? '', subtitle: o.subtitle, body: body ?? '' }
        : title !== undefined
          ? { title, body: body ?? '' }
          : (body ?? '');
  } else {
    options.contentAvailable = true;
  }
  const sound = o.sound ?? content.sound;
  if (sound !== undefined) options.sound = sound;
  const badge = o.badge ?? content.badge;
  if (badge !== undefined) options.badge = badge;
  if (o.thread_id !== undefined) options.threadId = o.thread_id;
  if (o.category !== undefined) options.category = o.category;
  if (o.mutable_content !== undefined) options.mutableContent = o.mutable_content;
  if (content.collapse_id !== undefined) options.collapseId = content.collapse_id;
  if (opts.topic !== undefined) options.topic = opts.topic;
  if (content.ttl_seconds !== undefined) {
    // APNs: 0 means "deliver now or never"; otherwise a UNIX time.
    options.expiration = content.ttl_seconds === 0 ? 0 : Math.floor(opts.nowMs / 1000) + content.ttl_seconds;
  }
  const notification = new Notification(deviceToken, options);
  const bytes = Buffer.byteLength(JSON.stringify(notification.buildApnsOptions()), 'utf8');
  if (bytes > APNS_MAX_PAYLOAD_BYTES) {
    throw new HeraldError(
      ErrorCode.PUSH_PAYLOAD_TOO_LARGE,
      `APNs payload is ${bytes} bytes; the limit is ${APNS_MAX_PAYLOAD_BYTES}`,
      { limit: APNS_MAX_PAYLOAD_BYTES, size: bytes, platform: 'apns' },
    );
  }
  return { notification, bytes };
}

export interface FcmRequest {
  message: Message;
  bytes: number;
}

/** The FCM v1 message for one device; throws PUSH_PAYLOAD_TOO_LARGE over the limit. */
export function buildFcmMessage(
  content: PushContent,
  deviceToken: string,
  opts: { messageId: string },
): FcmRequest {
  const o = content.fcm ?? {};
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(content.data ?? {}))
    data[k] = typeof v === 'string' ? v : JSON.stringify(v);
  for (const [k, v] of Object.entries(o.data ?? {})) data[k] = v;
  data['herald_message_id'] = opts.messageId;
  const title = o.title ?? content.title;
  const body = o.body ?? content.body;
  const message: Message = { token: deviceToken, data };
  if (title !== undefined || body !== undefined) {
    message.notification = {
      ...(title !== undefined ? { title } : {}),
      ...(body !== undefined ? { body } : {}),
    };
  }
  const androidNotification: Record<string, string | number> = {};
  const sound = o.sound ?? content.sound;
  if (sound !== undefined) androidNotification['sound'] = sound;
  if (o.channel_id !== undefined) androidNotification['channelId'] = o.channel_id;
  if (o.icon !== undefined) androidNotification['icon'] = o.icon;
  if (o.color !== undefined) androidNotification['color'] = o.color;
  if (o.click_action !== undefined) androidNotification['clickAction'] = o.click_action;
  if (content.badge !== undefined) androidNotification['notificationCount'] = content.badge;
  message.android = {
    priority: content.priority === 'normal' ? 'normal' : 'high',
    ...(content.collapse_id !== undefined ? { collapseKey: content.collapse_id } : {}),
    ...(content.ttl_seconds !== undefined ? { ttl: content.ttl_seconds * 1000 } : {}),
    ...(Object.keys(androidNotification).length > 0 ? { notification: androidNotification } : {}),
  };
  let bytes = 0;
  for (const [k, v] of Object.entries(data))
    bytes += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(v, 'utf8');
  bytes += Buffer.byteLength(title ?? '', 'utf8') + Buffer.byteLength(body ?? '', 'utf8');
  if (bytes > FCM_MAX_PAYLOAD_BYTES) {
    throw new HeraldError(
      ErrorCode.PUSH_PAYLOAD_TOO_LARGE,
      `FCM payload is ${bytes} bytes; the limit is ${FCM_MAX_PAYLOAD_BYTES}`,
      { limit: FCM_MAX_PAYLOAD_BYTES, size: bytes, platform: 'fcm' },
    );
  }
  return { message, bytes };
}

/**
 * Checks a `push` section against both providers' limits at publish time, so the publisher hears
 * about an oversized push in its answer instead of in a dead letter. A 64-character token stands in
 * for the device (tokens are not part of either payload).
 */
export function checkPushSize(content: PushContent): void {
  const messageId = 'msg_0000000000000000000000';
  buildApnsNotification(content, '0'.repeat(64), { messageId, nowMs: 0 });
  buildFcmMessage(content, '0'.repeat(64), { messageId });
}
