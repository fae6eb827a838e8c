import type { IncomingMessage, Server } from 'node:http';
import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import type { WebSocket, WebSocketServer } from 'ws';
import type { NodeConfig } from '@herald/config';

/** The URL of an upgrade request before a prefix route rewrote it (see HeraldWsAdapter). */
const ORIGINAL_URLS = new WeakMap<IncomingMessage, string>();

/**
 * The URL the client asked for. A gateway declared with `prefixRoute: true` (e.g. the Pusher
 * protocol at `/app/{key}`) sees `req.url` rewritten to its own path; this returns the original.
 */
export function upgradeUrl(req: IncomingMessage): string {
  return ORIGINAL_URLS.get(req) ?? req.url ?? '/';
}

/**
 * Nest's WsAdapter, narrowed to what Herald needs: Nest creates the `ws` server on the shared
 * HTTP server and hands each connection to the gateway, but never parses messages (the
 * per-message path is Herald's own, on `ws` directly) and never logs client-caused socket errors
 * (a public socket must not become a log-flood target).
 */
export class HeraldWsAdapter extends WsAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly config: NodeConfig,
  ) {
    super(app);
  }

  /** Paths served for every sub-path as well (`/app` serves `/app/{key}`). */
  private readonly prefixes = new Set<string>();
  private prefixListener = false;

  override create(
    port: number,
    options: Record<string, unknown> & { path?: string; prefixRoute?: boolean },
  ): WebSocketServer {
    const { prefixRoute, ...rest } = options;
    if (prefixRoute === true && typeof rest.path === 'string') this.addPrefixRoute(rest.path);
    return super.create(port, {
      ...rest,
      perMessageDeflate: false,
      clientTracking: false,
      maxPayload: this.config.ws.maxPayloadBytes,
    }) as WebSocketServer;
  }

  /**
   * Nest routes upgrades by exact path only. For a prefix route, a listener that runs before Nest's
   * rewrites `/app/{key}?q` to `/app?q` (keeping the original for `upgradeUrl`), so Nest hands the
   * connection to the gateway registered at `/app`.
   */
  private addPrefixRoute(path: string): void {
    this.prefixes.add(path);
    const server = this.httpServer as Server | undefined;
    if (this.prefixListener || !server || typeof server.prependListener !== 'function') return;
    this.prefixListener = true;
    server.prependListener('upgrade', (req: IncomingMessage) => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const pathname = q === -1 ? url : url.slice(0, q);
      for (const prefix of this.prefixes) {
        if (pathname.startsWith(prefix + '/')) {
          ORIGINAL_URLS.set(req, url);
          req.url = prefix + (q === -1 ? '' : url.slice(q));
          return;
        }
      }
    });
  }

  override bindMessageHandlers(
    _client: WebSocket,
    _handlers: MessageMappingProperties[],
    _transform: (data: unknown) => Observable<unknown>,
  ): void {
    // Intentionally empty: WebSocketEndpoint reads messages itself.
  }

  override bindErrorHandler(server: WebSocketServer): WebSocketServer {
    server.on('connection', (ws: WebSocket) => ws.on('error', () => undefined));
    server.on('error', (err: Error) => this.logger.error(err));
    return server;
  }
}
