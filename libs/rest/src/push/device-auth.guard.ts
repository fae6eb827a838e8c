import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { TokenVerifier, verifyServerSecret } from '@herald/auth';
import type { AppConfig } from '@herald/config';
import { CONTROL_STORE, type ControlStore } from '@herald/control';
import { ErrorCode, HeraldError } from '@herald/protocol';
import { bearerToken, checkBody } from '../app-auth.guard.js';
import { attachApp, type RestRequest } from '../current-app.js';

const APP_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** Three base64url parts: a JWT (server secrets never contain dots). */
const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Device routes accept two callers: the tenant's server (a server secret, any user of the app), or
 * the device's own app with the user's connection token (a JWT of the app whose `sub` is the user in
 * the path: a client can only manage its own user's devices). Expired, revoked or foreign-app tokens
 * are refused with the token error codes; a valid token of another user is PERMISSION_DENIED.
 */
@Injectable()
export class DeviceAuthGuard implements CanActivate {
  private readonly log = new Logger('DeviceAuthGuard');

  constructor(
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    private readonly tokens: TokenVerifier,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<RestRequest>();
    const appId = req.params?.app;
    if (appId === undefined || !APP_ID_RE.test(appId)) throw new HeraldError(ErrorCode.UNKNOWN_APP);
    let app: AppConfig | undefined;
    try {
      app = await this.control.getApp(appId);
    } catch (err) {
      this.log.warn({ msg: 'control store lookup failed', app: appId, err: String(err) });
      throw new HeraldError(ErrorCode.UNAVAILABLE, 'app catalogue is unavailable, retry later');
    }
    if (!app || !app.enabled) throw new HeraldError(ErrorCode.UNKNOWN_APP);
    const credential = bearerToken(req.headers);
    if (credential === undefined) {
      throw new HeraldError(
        ErrorCode.UNAUTHORIZED,
        'missing credentials: send Authorization: Bearer <server secret or connection token>',
      );
    }
    if (!verifyServerSecret(app, credential, req.method === 'GET' ? 'stats' : 'publish')) {
      if (!JWT_RE.test(credential)) throw new HeraldError(ErrorCode.UNAUTHORIZED, 'invalid credentials');
      const claims = await this.tokens.verifyConnectionToken(app, credential);
      if (claims.sub !== req.params?.user) {
        throw new HeraldError(
          ErrorCode.PERMISSION_DENIED,
          "a connection token may only manage its own user's devices",
        );
      }
    }
    checkBody(req, app);
    attachApp(req, app);
    return true;
  }
}
