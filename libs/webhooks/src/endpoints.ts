import type { ControlAdmin } from '@herald/control';

/** An endpoint as the dispatcher needs it (secrets in plaintext: dispatcher only). */
export interface WebhookEndpoint {
  id: string;
  appId: string;
  url: string;
  events: readonly string[];
  /** Only channels starting with one of these (none: every channel). */
  channelPrefixes?: readonly string[];
  enabled: boolean;
  /** `standard` (Standard Webhooks headers) or `pusher` (X-Pusher-Key / X-Pusher-Signature). */
  format: 'standard' | 'pusher';
  /** Live signing secrets, newest first (two during rotation). */
  secrets: readonly string[];
  /** Pusher mode: the app key and app secret that sign. */
  pusher?: { key: string; secret: string };
}

/** Where endpoints come from; read on every event, so implementations cache. */
export interface WebhookEndpointSource {
  endpoints(appId: string): Promise<WebhookEndpoint[]>;
}

export const WEBHOOK_ENDPOINT_SOURCE = Symbol('WebhookEndpointSource');

/**
 * Endpoints from the control plane. The control schema stores URL, events, enabled and one
 * signing secret today: channel filters, a second (rotating) secret and the Pusher format are not
 * stored there yet, so every control-plane endpoint is `standard` with one secret and no filter.
 */
export class ControlWebhookEndpointSource implements WebhookEndpointSource {
  private readonly cache = new Map<string, { at: number; value: Promise<WebhookEndpoint[]> }>();

  constructor(
    private readonly admin: ControlAdmin,
    private readonly ttlMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  endpoints(appId: string): Promise<WebhookEndpoint[]> {
    const hit = this.cache.get(appId);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value;
    const value = this.admin.webhookEndpoints(appId).then(
      (list) =>
        list.map((w) => ({
          id: w.id,
          appId: w.appId,
          url: w.url,
          events: w.events,
          enabled: w.enabled,
          format: 'standard' as const,
          secrets: [w.signingSecret],
        })),
      (err: unknown) => {
        this.cache.delete(appId);
        throw err;
      },
    );
    this.cache.set(appId, { at: this.now(), value });
    return value;
  }
}

/** Endpoints given in code (tests, and nodes without a SQL control store). */
export class StaticWebhookEndpointSource implements WebhookEndpointSource {
  constructor(public list: WebhookEndpoint[]) {}

  endpoints(appId: string): Promise<WebhookEndpoint[]> {
    return Promise.resolve(this.list.filter((e) => e.appId === appId));
  }
}
