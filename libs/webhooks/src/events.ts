/**
 * Webhook events: what tenant servers are told, and the record that carries one over the Bus
 * (topic `herald.events`, key `<app>:<channel>` so one channel's events stay in order).
 */
export const WEBHOOK_EVENT_NAMES = [
  'channel_occupied',
  'channel_vacated',
  'member_added',
  'member_removed',
  'client_event',
  'connection_opened',
  'connection_closed',
  'push_delivered',
  'push_failed',
  // Pusher-format events, produced by the Pusher protocol layer (libs/pusher); `data` of
  // subscription_count is the count.
  'cache_miss',
  'subscription_count',
] as const;

export type WebhookEventName = (typeof WEBHOOK_EVENT_NAMES)[number];

/** Opt-in events: an endpoint gets them only when it lists them explicitly. */
export const OPT_IN_EVENTS: readonly WebhookEventName[] = ['connection_opened', 'connection_closed'];

/** One event as the receiver sees it inside `{time_ms, events: [...]}` (Pusher's shape, plus `id`). */
export interface WebhookEvent {
  /** Unique per event; the same across retries and replays (de-duplicate by it or by `webhook-id`). */
  id: string;
  name: WebhookEventName;
  /** Absent for connection and push events. */
  channel?: string;
  user_id?: string;
  /** The connection (client id) for member, client and connection events. */
  client_id?: string;
  /** client_event: what the client published. */
  data?: unknown;
  /** client_event: the client event's name, when the protocol has one (Pusher `client-*` events). */
  event?: string;
  /** push events: the push id and, for push_failed, why. */
  push_id?: string;
  reason?: string;
  time_ms: number;
}

/** The Bus record: the event and the app it belongs to. */
export interface EventRecord {
  app: string;
  event: WebhookEvent;
}

/** Bus key: the app first (tenants never share a key), then the channel, or the user for the rest. */
export function eventKey(appId: string, event: WebhookEvent): string {
  if (event.channel !== undefined) return `${appId}:${event.channel}`;
  return `${appId}:@user:${event.user_id ?? ''}`;
}

export function encodeEventRecord(record: EventRecord): Buffer {
  return Buffer.from(JSON.stringify(record));
}

export function decodeEventRecord(value: Buffer): EventRecord | undefined {
  try {
    const parsed = JSON.parse(value.toString('utf8')) as Partial<EventRecord>;
    if (typeof parsed.app !== 'string' || typeof parsed.event?.id !== 'string') return undefined;
    if (!(WEBHOOK_EVENT_NAMES as readonly string[]).includes(parsed.event.name)) return undefined;
    return parsed as EventRecord;
  } catch {
    return undefined;
  }
}

/** Does an endpoint subscribed to `events` (and channel prefixes) want this event? */
export function endpointWants(
  endpoint: { events: readonly string[]; channelPrefixes?: readonly string[] },
  event: Pick<WebhookEvent, 'name' | 'channel'>,
): boolean {
  if (!endpoint.events.includes(event.name)) return false;
  const prefixes = endpoint.channelPrefixes;
  if (!prefixes || prefixes.length === 0 || event.channel === undefined) return true;
  return prefixes.some((p) => event.channel!.startsWith(p));
}
