import type { IncomingMessage, ServerResponse, Server as HttpServer } from 'node:http';
import {
  Http2ServerRequest,
  Http2ServerResponse,
  createSecureServer,
  type SecureServerOptions,
} from 'node:http2';
import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';

/** The part of an express application this adaptation touches. */
interface ExpressApp {
  (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void;
  request: object;
  response: object;
}

/**
 * Nest's express adapter on a TLS listener that speaks HTTP/2 and, on the same port, HTTP/1.1
 * (`allowHTTP1`; ALPN picks). HTTP/2 lets a browser hold many SSE streams on one connection
 * instead of six per origin; WebSocket upgrades arrive over HTTP/1.1 and reach `ws` as before.
 *
 * The adaptation: express serves a request by re-parenting it onto its own request/response
 * prototypes, which extend node:http's IncomingMessage/ServerResponse. An HTTP/2 compatibility
 * request is not an IncomingMessage (its headers, url and body stream live on
 * Http2ServerRequest.prototype), so re-parented it breaks. For HTTP/2 requests, express is given
 * the same methods on prototypes that extend Http2ServerRequest/Http2ServerResponse instead.
 * Known limit: express's body parsers skip HTTP/2 requests that have neither content-length nor
 * transfer-encoding (browsers send content-length for fetch bodies); the HTTP transports read
 * bodies themselves.
 */
export class HeraldExpressAdapter extends ExpressAdapter {
  constructor(private readonly tls: SecureServerOptions | undefined) {
    super();
  }

  override initHttpServer(options: NestApplicationOptions): void {
    if (!this.tls) {
      super.initHttpServer(options);
      return;
    }
    const server = createSecureServer(
      { ...this.tls, allowHTTP1: true },
      expressOverHttp2(this.getInstance<ExpressApp>()),
    );
    // Nest types the server as node:http's; the HTTP/2 server offers what Nest and `ws` use of it
    // (listen, address, close, the 'upgrade' event for HTTP/1.1 connections).
    this.httpServer = server as unknown as HttpServer;
  }
}

function rebase(base: object, methods: object, app: ExpressApp): object {
  const proto: object = Object.create(base) as object;
  for (const key of Reflect.ownKeys(methods)) {
    const descriptor = Object.getOwnPropertyDescriptor(methods, key);
    if (descriptor) Object.defineProperty(proto, key, descriptor);
  }
  return Object.create(proto, {
    app: { configurable: true, enumerable: true, writable: true, value: app },
  }) as object;
}

export function expressOverHttp2(
  app: ExpressApp,
): (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void {
  const h1Request = app.request;
  const h1Response = app.response;
  const h2Request = rebase(Http2ServerRequest.prototype, Object.getPrototypeOf(h1Request) as object, app);
  const h2Response = rebase(Http2ServerResponse.prototype, Object.getPrototypeOf(h1Response) as object, app);
  return (req, res) => {
    if (!(req instanceof Http2ServerRequest)) {
      app(req, res);
      return;
    }
    // express reads app.request/app.response synchronously when it takes the request, so swapping
    // them around the call cannot leak into another request.
    app.request = h2Request;
    app.response = h2Response;
    try {
      app(req, res);
    } finally {
      app.request = h1Request;
      app.response = h1Response;
    }
  };
}
