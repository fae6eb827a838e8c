import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { AppConfig } from '@herald/config';
import { ErrorCode, HeraldError } from '@herald/protocol';

const APP = Symbol('herald.app');

/** The request as the REST layer sees it (express adds params, query and body). */
export interface RestRequest extends IncomingMessage {
  params?: Record<string, string | undefined>;
  query?: unknown;
  body?: unknown;
  [APP]?: AppConfig;
}

/** Called once per request by AppAuthGuard, after the app is resolved and the caller authenticated. */
export function attachApp(req: IncomingMessage, app: AppConfig): void {
  (req as RestRequest)[APP] = app;
}

export function appOf(req: IncomingMessage): AppConfig | undefined {
  return (req as RestRequest)[APP];
}

/**
 * The tenant of this request, resolved once at the edge by AppAuthGuard. Handlers take it as a
 * parameter and pass it explicitly to every service call; nothing below looks the app up again.
 */
export const CurrentApp = createParamDecorator((_data: unknown, ctx: ExecutionContext): AppConfig => {
  const app = appOf(ctx.switchToHttp().getRequest<IncomingMessage>());
  // Only reachable if a route forgot @UseGuards(AppAuthGuard): fail closed.
  if (!app) throw new HeraldError(ErrorCode.INTERNAL, 'route has no app guard');
  return app;
});
