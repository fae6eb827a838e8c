import type { IncomingMessage } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NodeConfig } from '@herald/config';

/** Floor of the node-wide body cap (bytes), whatever the configured apps allow. */
export const MIN_HTTP_BODY_LIMIT = 1024 * 1024;

/**
 * The node-wide hard cap on request bodies, enforced by the body parser before any app is known:
 * the largest `limits.maxBodyBytes` of the configured apps, and at least MIN_HTTP_BODY_LIMIT (apps
 * added later through the control store get their own, smaller limit from AppAuthGuard). It bounds
 * the memory one request can take before authentication.
 */
export function httpBodyLimit(config: NodeConfig): number {
  return Math.max(MIN_HTTP_BODY_LIMIT, ...config.apps.map((a) => a.limits.maxBodyBytes));
}

/** Where the raw bytes of a parsed JSON body are kept (see keepRawBody). */
export const RAW_BODY = Symbol('herald.rawBody');

/**
 * Keeps the raw bytes of JSON bodies sent to the Pusher HTTP API (`/apps/...`, libs/pusher), whose
 * request signature covers the body's MD5: re-encoding the parsed body would not give the same
 * bytes. Other routes keep nothing extra.
 */
export function keepRawBody(req: IncomingMessage, _res: unknown, buf: Buffer): void {
  if (req.url?.startsWith('/apps/')) (req as IncomingMessage & { [RAW_BODY]?: Buffer })[RAW_BODY] = buf;
}

/**
 * HTTP-wide settings of a Herald node, applied once by the entry point before `listen`:
 * JSON bodies (`application/json` and `+json` types) parsed up to httpBodyLimit; the urlencoded
 * parser Nest would add by default gets the same cap (Herald reads no form bodies, but an
 * uncapped parser would be a way around the limit); no `X-Powered-By`.
 */
export function configureHttp(app: NestExpressApplication, config: NodeConfig): void {
  const limit = httpBodyLimit(config);
  app.useBodyParser('json', { limit, type: ['application/json', '+json'], verify: keepRawBody });
  app.useBodyParser('urlencoded', { limit, extended: false });
  app.disable('x-powered-by');
}
