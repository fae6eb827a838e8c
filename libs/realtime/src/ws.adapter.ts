import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import type { WebSocket, WebSocketServer } from 'ws';
import type { NodeConfig } from '@herald/config';

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

  override create(port: number, options: Record<string, unknown> & { path?: string }): WebSocketServer {
    return super.create(port, {
      ...options,
      perMessageDeflate: false,
      clientTracking: false,
      maxPayload: this.config.ws.maxPayloadBytes,
    }) as WebSocketServer;
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
