import type { IncomingMessage } from 'node:http';
import { Inject, Logger } from '@nestjs/common';
import { WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { RawData, WebSocket } from 'ws';
import { isOriginAllowed } from '@herald/auth';
import { CONTROL_STORE, type ControlStore } from '@herald/control';
import {
  ClientService,
  SessionSupervisor,
  SHUTDOWN_ADVICE,
  WriteScheduler,
  type Session,
} from '@herald/core';
import { DisconnectCode, encodeFrame } from '@herald/protocol';
import { ConnectionAdmission } from './admission.js';
import { WsTransport } from './ws.transport.js';

export const WEBSOCKET_PATH = '/connection/websocket';

/**
 * `/connection/websocket?key=<client key>`: native protocol v1 over WebSocket. Checks that need no
 * credentials happen here, before a session exists: draining, the node's new-connection rate
 * (a reconnect storm is shed, not absorbed), the app key and the browser origin.
 */
@WebSocketGateway({ path: WEBSOCKET_PATH })
export class WebSocketEndpoint implements OnGatewayConnection {
  private readonly log = new Logger('WebSocketEndpoint');

  constructor(
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    private readonly clients: ClientService,
    private readonly supervisor: SessionSupervisor,
    private readonly scheduler: WriteScheduler,
    private readonly admission: ConnectionAdmission,
  ) {}

  handleConnection(ws: WebSocket, req: IncomingMessage): void {
    // Read what is needed from the request up front: no closure below may reference `req`, or V8
    // would keep the whole IncomingMessage (headers and all) alive for the connection's lifetime.
    const url = req.url ?? '/';
    const origin = req.headers.origin;
    const socket = req.socket;
    // Messages may arrive before the app lookup resolves: hold them until the session exists.
    let session: Session | undefined;
    let early: string[] | undefined = [];
    let transport: WsTransport | undefined;
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        const def = DisconnectCode.UNSUPPORTED_PROTOCOL;
        if (transport) transport.close(def, 'binary frames are not supported');
        else ws.close(def.code, def.reason);
        return;
      }
      const text = rawToString(data);
      if (session) this.clients.handleMessage(session, text);
      else early?.push(text);
    });
    ws.on('close', () => {
      early = undefined;
      if (session) void this.clients.onClosed(session, transport?.closeDef);
    });

    const reject = (def: { code: number; reason: string }) => ws.close(def.code, def.reason);
    if (this.supervisor.draining) {
      // As on the drain's own closes: advice in a disconnect push first (protocol §2.7).
      const def = DisconnectCode.SHUTDOWN;
      ws.send(
        encodeFrame({
          push: 'disconnect',
          code: def.code,
          reason: def.reason,
          reconnect: def.reconnect,
          advice: SHUTDOWN_ADVICE,
        }),
      );
      return reject(def);
    }
    if (!this.admission.take()) return reject(DisconnectCode.NODE_BUSY);
    const key = new URL(url, 'http://localhost').searchParams.get('key');
    if (!key) return reject(DisconnectCode.UNKNOWN_APP);
    this.control.getAppByKey(key).then(
      (app) => {
        if (ws.readyState !== ws.OPEN || early === undefined) return;
        if (!app || !app.enabled) return reject(DisconnectCode.UNKNOWN_APP);
        if (!isOriginAllowed(app, origin)) return reject(DisconnectCode.ORIGIN_NOT_ALLOWED);
        transport = new WsTransport(ws, socket, this.scheduler, app.limits.outboundQueueBytes);
        session = this.clients.createSession(app, transport);
        const pending = early;
        early = undefined;
        for (const text of pending) this.clients.handleMessage(session, text);
      },
      (err: unknown) => {
        this.log.error({ msg: 'app lookup failed', err: String(err) });
        reject(DisconnectCode.SERVER_ERROR);
      },
    );
  }
}

/** The text of a WebSocket message, whichever of its buffer shapes `ws` delivered it in. */
export function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
