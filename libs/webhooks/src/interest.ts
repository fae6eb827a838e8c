import type { ControlAdmin } from '@herald/control';
import { endpointWants, type WebhookEvent } from './events.js';
import { isPusherEvent } from './pusher-format.js';

/**
 * Whether any endpoint of an app wants an event, so gateways do not produce lifecycle events to
 * `herald.events` for apps that have no endpoint (or none wanting that event): most apps, on a
 * shared deployment. The endpoint list (no secrets) is read from the control plane at most once per
 * app per `ttlMs` (the dispatcher's endpoint cache has the same TTL), so there is no store round
 * trip per event; an endpoint created or enabled starts receiving within that time.
 *
 * Fails open: when the control plane cannot be read, events are produced and the dispatcher, which
 * checks the endpoints again when it consumes them, decides.
 */
export class WebhookInterest {
  private readonly cache = new Map<string, { at: number; value: Promise<Interest[]> }>();

  constructor(
    private readonly admin: Pick<ControlAdmin, 'listWebhooks'>,
    private readonly ttlMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  async wants(appId: string, event: Pick<WebhookEvent, 'name' | 'channel'>): Promise<boolean> {
    let endpoints: Interest[];
    try {
      endpoints = await this.endpoints(appId);
    } catch {
      return true;
    }
    return endpoints.some(
      (w) => w.enabled && endpointWants(w, event) && (w.format !== 'pusher' || isPusherEvent(event.name)),
    );
  }

  private endpoints(appId: string): Promise<Interest[]> {
    const hit = this.cache.get(appId);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value;
    const value = this.admin.listWebhooks(appId).catch((err: unknown) => {
      this.cache.delete(appId);
      throw err;
    });
    this.cache.set(appId, { at: this.now(), value });
    // Bounded: entries of apps not seen for a TTL go at the next miss (one pass per TTL at most).
    if (this.cache.size > 10_000) {
      const cutoff = this.now() - this.ttlMs;
      for (const [k, v] of this.cache) if (v.at < cutoff) this.cache.delete(k);
    }
    return value;
  }
}

type Interest = Awaited<ReturnType<ControlAdmin['listWebhooks']>>[number];

export const WEBHOOK_INTEREST = Symbol('WebhookInterest');
