import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { verifyServerSecret } from '@herald/auth';
import { CONTROL_STORE, type ControlStore } from '@herald/control';
import { ErrorCode, HeraldError } from '@herald/protocol';
import { bearerToken, type RestRequest } from '@herald/rest';
import type { AdminToken } from './admin-token.js';

export const ADMIN_TOKEN = Symbol('AdminToken');

const APP_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

function sameSecret(a: string, b: string): boolean {
  // Digests first: timingSafeEqual needs equal lengths, and the length of the token must not leak.
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

/**
 * Authenticates the admin API: `Authorization: Bearer <admin token>` (the operator; every route),
 * or, on the routes of one app (`/v1/admin/apps/{app}/...`), a server secret of that app with the
 * `admin` scope (the tenant administering itself; it cannot list, create or touch other apps). The
 * admin token is separate from every tenant secret and compared in constant time.
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(
    @Inject(ADMIN_TOKEN) private readonly admin: AdminToken,
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<RestRequest>();
    const presented = bearerToken(req.headers);
    if (presented === undefined) {
      throw new HeraldError(
        ErrorCode.UNAUTHORIZED,
        this.admin.token === undefined
          ? 'the admin API is disabled: set HERALD_ADMIN_TOKEN (and control.driver pglite or postgres)'
          : 'missing credentials: send Authorization: Bearer <admin token>',
      );
    }
    if (this.admin.token !== undefined && sameSecret(presented, this.admin.token)) return true;
    const appId = req.params?.app;
    if (appId !== undefined && APP_ID_RE.test(appId)) {
      let app;
      try {
        app = await this.control.getApp(appId);
      } catch {
        throw new HeraldError(ErrorCode.UNAVAILABLE, 'app catalogue is unavailable, retry later');
      }
      if (app && verifyServerSecret(app, presented, 'admin')) return true;
    }
    throw new HeraldError(ErrorCode.UNAUTHORIZED, 'invalid credentials');
  }
}
