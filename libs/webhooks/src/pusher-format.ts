import type { WebhookEvent, WebhookEventName } from './events.js';

/**
 * Pusher's webhook format (https://pusher.com/docs/channels/server_api/webhooks/), chosen per
 * endpoint so a backend written for Pusher (and its server library's `webhook()` check) works
 * unchanged. The body is `{time_ms, events: [...]}` with Pusher's field names; the headers are
 * `X-Pusher-Key` (the app key) and `X-Pusher-Signature` (hex HMAC-SHA256 of the body with the app
 * secret), see signing.ts. Herald's other events (connection and push events) have no Pusher
 * equivalent and are never sent to a Pusher-format endpoint.
 */
export const PUSHER_WEBHOOK_EVENTS: readonly WebhookEventName[] = [
  'channel_occupied',
  'channel_vacated',
  'member_added',
  'member_removed',
  'client_event',
  'cache_miss',
  'subscription_count',
];

export function isPusherEvent(name: string): boolean {
  return (PUSHER_WEBHOOK_EVENTS as readonly string[]).includes(name);
}

/** The event name Pusher clients see for Herald data that is not an `{event, data}` envelope. */
const DEFAULT_EVENT_NAME = 'message';

function dataString(data: unknown): string {
  return typeof data === 'string' ? data : (JSON.stringify(data) ?? 'null');
}

/**
 * A client event's Pusher name and data string. Pusher `client-*` events carry their name and the
 * data as the client sent it. A native publication has no name: it is mapped as Pusher clients see
 * it (libs/pusher channels.ts `toPusherEvent`): data that is exactly `{event: non-empty string,
 * data}` is that event with that data; anything else is the event `message` with the data
 * JSON-encoded. So Pusher-format endpoints never get an empty event name.
 */
export function pusherClientEvent(e: Pick<WebhookEvent, 'event' | 'data'>): { event: string; data: string } {
  if (e.event !== undefined && e.event !== '') return { event: e.event, data: dataString(e.data ?? null) };
  const d = e.data;
  if (typeof d === 'object' && d !== null && !Array.isArray(d)) {
    const rec = d as Record<string, unknown>;
    if (typeof rec.event === 'string' && rec.event !== '' && 'data' in rec && Object.keys(rec).length === 2)
      return { event: rec.event, data: dataString(rec.data) };
  }
  return { event: DEFAULT_EVENT_NAME, data: dataString(d ?? null) };
}

/** One event in Pusher's shape; undefined for events Pusher does not have. */
export function toPusherEvent(e: WebhookEvent): Record<string, string | number> | undefined {
  const channel = e.channel ?? '';
  switch (e.name) {
    case 'channel_occupied':
    case 'channel_vacated':
    case 'cache_miss':
      return { name: e.name, channel };
    case 'subscription_count':
      return { name: e.name, channel, subscription_count: typeof e.data === 'number' ? e.data : 0 };
    case 'member_added':
    case 'member_removed':
      return { name: e.name, channel, user_id: e.user_id ?? '' };
    case 'client_event': {
      // Pusher sends `data` as the string the client sent; Herald carries the parsed value.
      const { event, data } = pusherClientEvent(e);
      return {
        name: 'client_event',
        channel,
        event,
        data,
        socket_id: e.client_id ?? '',
        // Pusher includes the user only on presence channels.
        ...(channel.startsWith('presence-') && e.user_id ? { user_id: e.user_id } : {}),
      };
    }
    default:
      return undefined;
  }
}

/** The body of one Pusher-format POST. */
export function pusherBody(timeMs: number, events: readonly WebhookEvent[]): string {
  return JSON.stringify({
    time_ms: timeMs,
    events: events.map(toPusherEvent).filter((x): x is Record<string, string | number> => x !== undefined),
  });
}
