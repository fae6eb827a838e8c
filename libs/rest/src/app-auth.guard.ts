import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { verifyServerSecret } from '@herald/auth';
import type { AppConfig } from '@herald/config';
import { CONTROL_STORE, type ControlStore } from '@herald/control';
import { ErrorCode, HeraldError } from '@herald/protocol';
import { attachApp, type RestRequest } from './current-app.js';

/**
 * Shape of an app id (the config schema enforces the same): anything else cannot exist, so it is
 * answered without asking the store (and without sending arbitrary strings to a database).
 */
const APP_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const BEARER_RE = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The credentials of `Authorization: Bearer <secret>`, or undefined when absent or another scheme. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const value = headers.authorization;
  if (typeof value !== 'string') return undefined;
  return BEARER_RE.exec(value)?.[1];
}

function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const media = contentType.split(';')[0].trim().toLowerCase();
  return media === 'application/json' || media.endsWith('+json');
}

/**
 * Enforces the app's body limit and content type once the app is known. The node-wide hard cap is
 * the JSON parser's own limit (configureHttp), which runs before any guard; this check applies the
 * smaller per-app limit: from Content-Length when present, otherwise (chunked upload) from the size
 * of the parsed body re-encoded, which is within a few bytes of what was sent.
 */
export function checkBody(req: RestRequest, app: AppConfig): void {
  const length = Number(req.headers['content-length'] ?? NaN);
  const chunked = req.headers['transfer-encoding'] !== undefined;
  const hasBody = (Number.isFinite(length) && length > 0) || chunked;
  if (!hasBody) return;
  if (!isJson(req.headers['content-type'])) {
    throw new HeraldError(
      ErrorCode.BAD_REQUEST,
      'request body must be JSON (Content-Type: application/json)',
    );
  }
  const max = app.limits.maxBodyBytes;
  const size = Number.isFinite(length) ? length : Buffer.byteLength(JSON.stringify(req.body) ?? '', 'utf8');
  if (size > max) {
    throw new HeraldError(ErrorCode.PAYLOAD_TOO_LARGE, `request body exceeds the app limit of ${max} bytes`, {
      limit: max,
    });
  }
}

/**
 * The enabled app of the request's `:app` path parameter, for the guards that resolve the tenant.
 * Unknown and disabled apps get the same 404 unknown_app, before credentials are looked at (see
 * AppAuthGuard); a failing store is 503 unavailable, so the client retries.
 */
export async function requireApp(req: RestRequest, control: ControlStore, log: Logger): Promise<AppConfig> {
  const appId = req.params?.app;
  if (appId === undefined || !APP_ID_RE.test(appId)) throw new HeraldError(ErrorCode.UNKNOWN_APP);
  let app: AppConfig | undefined;
  try {
    app = await control.getApp(appId);
  } catch (err) {
    // The store failed (not "no such app"): the client should retry, not conclude the app is gone.
    log.warn({ msg: 'control store lookup failed', app: appId, err: String(err) });
    throw new HeraldError(ErrorCode.UNAVAILABLE, 'app catalogue is unavailable, retry later');
  }
  if (!app || !app.enabled) throw new HeraldError(ErrorCode.UNKNOWN_APP);
  return app;
}

/** The Bearer credentials of the request, or 401 naming what to send (`expected`). */
export function requireBearer(req: RestRequest, expected: string): string {
  const credential = bearerToken(req.headers);
  if (credential === undefined) {
    throw new HeraldError(
      ErrorCode.UNAUTHORIZED,
      `missing credentials: send Authorization: Bearer <${expected}>`,
    );
  }
  return credential;
}

/**
 * Whether `secret` is one of the app's server secrets with the scope the request needs. Secrets
 * created through the admin API carry scopes: reads need `stats` (or `publish`), every other call
 * `publish`. A secret without the scope is answered like a wrong one.
 */
export function isServerSecretFor(req: RestRequest, app: AppConfig, secret: string): boolean {
  return verifyServerSecret(app, secret, req.method === 'GET' ? 'stats' : 'publish');
}

/**
 * Resolves the tenant from the `:app` path parameter and authenticates the caller with one of the
 * app's server secrets (two may be live during rotation), then attaches the app to the request for
 * @CurrentApp().
 *
 * Unknown and disabled apps get the same 404 unknown_app, before credentials are looked at, as
 * Pusher answers: app ids are identifiers, not secrets (they appear in URLs and dashboards), and
 * answering "disabled" differently would tell a prober more than "no such app". What is secret, the
 * server secret, is compared in constant time (verifyServerSecret) and never echoed.
 */
@Injectable()
export class AppAuthGuard implements CanActivate {
  private readonly log = new Logger('AppAuthGuard');

  constructor(@Inject(CONTROL_STORE) private readonly control: ControlStore) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<RestRequest>();
    const app = await requireApp(req, this.control, this.log);
    const secret = requireBearer(req, 'server secret');
    if (!isServerSecretFor(req, app, secret))
      throw new HeraldError(ErrorCode.UNAUTHORIZED, 'invalid credentials');
    checkBody(req, app);
    attachApp(req, app);
    return true;
  }
}
