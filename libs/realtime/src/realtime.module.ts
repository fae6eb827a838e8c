import { Module } from '@nestjs/common';
import { ClientDeliveryModule, CoreModule } from '@herald/core';
import { ConnectionAdmission } from './admission.js';
import { HttpSessions } from './http-sessions.js';
import { HttpTransportsController } from './http-transports.controller.js';
import { SessionRouter } from './session-router.js';
import { WebSocketEndpoint } from './websocket.endpoint.js';

/** Client-facing transports: WebSocket, and SSE, long-poll and short-poll over HTTP. */
@Module({
  imports: [CoreModule, ClientDeliveryModule],
  controllers: [HttpTransportsController],
  providers: [ConnectionAdmission, WebSocketEndpoint, HttpSessions, SessionRouter],
  exports: [HttpSessions, SessionRouter, ConnectionAdmission],
})
export class RealtimeModule {}
