import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toErrorResponse } from './error-response.js';
import { appOf } from './current-app.js';

/**
 * The one exception filter of the HTTP surface (registered once, globally, by RestModule through
 * APP_FILTER): every error of every HTTP route, including unknown routes and body-parser failures,
 * is answered with the REST error shape (see toErrorResponse).
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly log = new Logger('HttpExceptionFilter');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    // WebSocket and RPC contexts have their own error replies (frames, disconnect codes).
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    const req = http.getRequest<IncomingMessage>();
    const res = http.getResponse<ServerResponse>();
    const answer = toErrorResponse(exception);
    if (answer.unexpected) {
      this.log.error({
        msg: 'unexpected error answering a request',
        method: req.method,
        // The path only: query strings may carry anything, and the app id is logged separately.
        path: (req.url ?? '').split('?')[0],
        app: appOf(req)?.id,
        err: exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
      });
    }
    if (res.headersSent) {
      // A streaming response failed midway: the status line is gone, all we can do is stop.
      res.destroy();
      return;
    }
    const adapter = this.adapterHost.httpAdapter;
    for (const [name, value] of Object.entries(answer.headers)) adapter.setHeader(res, name, value);
    adapter.reply(res, answer.body, answer.status);
  }
}
