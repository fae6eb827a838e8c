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
];

export function isPusherEvent(name: string): boolean {
  return (PUSHER_WEBHOOK_EVENTS as readonly string[]).includes(name);
}

/** One event in Pusher's shape; undefined for events Pusher does not have. */
export function toPusherEvent(e: WebhookEvent): Record<string, string> | undefined {
  const channel = e.channel ?? '';
  switch (e.name) {
    case 'channel_occupied':
    case 'channel_vacated':
      return { name: e.name, channel };
    case 'member_added':
    case 'member_removed':
      return { name: e.name, channel, user_id: e.user_id ?? '' };
    case 'client_event': {
      // Pusher sends `data` as the string the client sent; Herald carries the parsed value.
      const data = typeof e.data === 'string' ? e.data : JSON.stringify(e.data ?? null);
      return {
        name: 'client_event',
        channel,
        event: e.event ?? '',
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
    events: events.map(toPusherEvent).filter((x): x is Record<string, string> => x !== undefined),
  });
}
