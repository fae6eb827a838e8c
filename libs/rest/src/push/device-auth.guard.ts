import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { TokenVerifier } from '@herald/auth';
import { CONTROL_STORE, type ControlStore } from '@herald/control';
import { ErrorCode, HeraldError } from '@herald/protocol';
import { checkBody, isServerSecretFor, requireApp, requireBearer } from '../app-auth.guard.js';
import { attachApp, type RestRequest } from '../current-app.js';

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
    const app = await requireApp(req, this.control, this.log);
    const credential = requireBearer(req, 'server secret or connection token');
    if (!isServerSecretFor(req, app, credential)) {
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
