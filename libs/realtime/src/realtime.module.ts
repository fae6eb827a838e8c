import { Module } from '@nestjs/common';
import { CoreModule } from '@herald/core';
import { ConnectionAdmission } from './admission.js';
import { HttpSessions } from './http-sessions.js';
import { HttpTransportsController } from './http-transports.controller.js';
import { WebSocketEndpoint } from './websocket.endpoint.js';

/** Client-facing transports: WebSocket, and SSE, long-poll and short-poll over HTTP. */
@Module({
  imports: [CoreModule],
  controllers: [HttpTransportsController],
  providers: [ConnectionAdmission, WebSocketEndpoint, HttpSessions],
  exports: [HttpSessions],
})
export class RealtimeModule {}
