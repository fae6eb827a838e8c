import type { ControlAdmin, ControlStore } from '@herald/control';

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
 * Endpoints from the control plane (URL, events, channel prefixes, enabled flag, format, and the
 * live signing secrets: two during a rotation). A Pusher-format endpoint signs with the app's
 * first client key and first server secret (what Pusher calls the app key and secret), read from
 * the ControlStore; an app without either cannot be signed for and its endpoint is skipped.
 */
export class ControlWebhookEndpointSource implements WebhookEndpointSource {
  private readonly cache = new Map<string, { at: number; value: Promise<WebhookEndpoint[]> }>();

  constructor(
    private readonly admin: ControlAdmin,
    private readonly apps?: ControlStore,
    private readonly ttlMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  endpoints(appId: string): Promise<WebhookEndpoint[]> {
    const hit = this.cache.get(appId);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value;
    const value = this.load(appId).catch((err: unknown) => {
      this.cache.delete(appId);
      throw err;
    });
    this.cache.set(appId, { at: this.now(), value });
    return value;
  }

  private async load(appId: string): Promise<WebhookEndpoint[]> {
    const list = await this.admin.webhookEndpoints(appId);
    const needsPusher = list.some((w) => w.format === 'pusher');
    const app = needsPusher ? await this.apps?.getApp(appId) : undefined;
    const pusher =
      app && app.keys[0] !== undefined && app.secrets[0] !== undefined
        ? { key: app.keys[0], secret: app.secrets[0] }
        : undefined;
    const out: WebhookEndpoint[] = [];
    for (const w of list) {
      const format = w.format ?? 'standard';
      if (format === 'pusher' && !pusher) continue;
      out.push({
        id: w.id,
        appId: w.appId,
        url: w.url,
        events: w.events,
        ...(w.channelPrefixes && w.channelPrefixes.length > 0 ? { channelPrefixes: w.channelPrefixes } : {}),
        enabled: w.enabled,
        format,
        secrets: w.signingSecrets.length > 0 ? w.signingSecrets : [w.signingSecret],
        ...(format === 'pusher' && pusher ? { pusher } : {}),
      });
    }
    return out;
  }
}

/** Endpoints given in code (tests, and nodes without a SQL control store). */
export class StaticWebhookEndpointSource implements WebhookEndpointSource {
  constructor(public list: WebhookEndpoint[]) {}

  endpoints(appId: string): Promise<WebhookEndpoint[]> {
    return Promise.resolve(this.list.filter((e) => e.appId === appId));
  }
}
