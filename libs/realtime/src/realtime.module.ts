import { Module } from '@nestjs/common';
import { CoreModule } from '@herald/core';
import { WebSocketEndpoint } from './websocket.endpoint.js';

/** Client-facing transports (WebSocket now; SSE and long-poll join here). */
@Module({
  imports: [CoreModule],
  providers: [WebSocketEndpoint],
})
export class RealtimeModule {}
