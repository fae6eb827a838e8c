import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, Logger, Options, Param, Post, Req, Res } from '@nestjs/common';
import { HttpSessions } from './http-sessions.js';
import type { HttpResponse } from './http-transport.js';

/**
 * Routes of the HTTP transports. Nest serves the routes; everything after that is node:http (or
 * the node:http2 compatibility API) in HttpSessions, which answers every request itself, errors
 * included, so the same code runs in the gateway (no REST module) and the standalone node.
 */
@Controller('connection')
export class HttpTransportsController {
  private readonly log = new Logger('HttpTransports');

  constructor(private readonly sessions: HttpSessions) {}

  @Get('sse')
  sse(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.guard(res, () => this.sessions.sseRequest(req, res));
  }

  @Get('poll')
  poll(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.guard(res, () => this.sessions.pollRequest(req, res));
  }

  @Post('session/:id')
  command(@Req() req: IncomingMessage, @Res() res: ServerResponse, @Param('id') id: string): Promise<void> {
    return this.guard(res, () => this.sessions.commandRequest(req, res, id));
  }

  @Options('sse')
  ssePreflight(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.guard(res, () => this.sessions.preflight(req, res, 'sse'));
  }

  @Options('poll')
  pollPreflight(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.guard(res, () => this.sessions.preflight(req, res, 'poll'));
  }

  @Options('session/:id')
  commandPreflight(
    @Req() req: IncomingMessage,
    @Res() res: ServerResponse,
    @Param('id') id: string,
  ): Promise<void> {
    return this.guard(res, () => this.sessions.preflight(req, res, id));
  }

  /** An unexpected failure ends the response with 500 (or cuts a started stream), never the process. */
  private async guard(res: HttpResponse, handle: () => Promise<void>): Promise<void> {
    try {
      await handle();
    } catch (err) {
      this.log.error({
        msg: 'HTTP transport request failed',
        err: err instanceof Error ? err.stack : String(err),
      });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      res.end('{"error":{"code":100,"name":"internal","message":"internal server error"}}');
    }
  }
}
