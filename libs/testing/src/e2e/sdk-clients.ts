/**
 * The client SDK (libs/sdk) as the e2e suites drive it: in Node, with `ws`, `eventsource` and
 * `fetch` injected as a browser provides WebSocket, EventSource and fetch, against a TestNode's
 * `alpha` app. Small backoff windows keep the suites fast (the backoff's shape is unit-tested).
 *
 * Why it exists: the SDK suites each built the same client and the same publication collector;
 * one copy keeps their defaults from drifting apart. A new default goes here only if every SDK
 * suite wants it; one suite's need goes into the options it passes.
 */
import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import { Herald, type HeraldOptions, type PublicationEvent, type Subscription } from '@herald/sdk';
import { uniqueId } from '../unique-id.js';
import type { TestNode } from './test-node.js';

export type SdkClientOptions = Partial<HeraldOptions> & {
  /** The user of the connection token (default: a fresh id). */
  user?: string;
};

/** Makes SDK clients and disconnects every one it made (`disconnectAll`, from an afterEach). */
export class SdkClients {
  private readonly made: Herald[] = [];

  /**
   * A client of `node`'s `alpha` app, not yet connected; `options` go over the defaults. With a
   * `getToken`, no fixed token is set (the SDK asks `getToken` for every connect).
   */
  create(node: TestNode, options: SdkClientOptions = {}): Herald {
    const app = node.apps.alpha;
    const { user = uniqueId('u'), ...rest } = options;
    const client = new Herald({
      url: node.url,
      key: app.key,
      token: rest.getToken ? undefined : app.token(user),
      WebSocket,
      EventSource,
      fetch: globalThis.fetch,
      backoff: { baseMs: 20, maxMs: 200 },
      ...rest,
    });
    this.made.push(client);
    return client;
  }

  disconnectAll(): void {
    for (const c of this.made.splice(0)) c.disconnect();
  }
}

/** Collects a subscription's publications (`{ n }` payloads) and resolves once `n` have arrived. */
export function collectPublications(sub: Subscription) {
  const got: PublicationEvent[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  sub.on('publication', (p) => {
    got.push(p);
    for (const w of waiters.filter((w) => got.length >= w.n)) w.resolve();
  });
  return {
    got,
    texts: () => got.map((p) => (p.data as { n: number }).n),
    count(n: number, timeoutMs = 8000): Promise<void> {
      if (got.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`only ${got.length} of ${n} publications within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}
