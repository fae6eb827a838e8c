import { isOriginAllowed } from '@herald/auth';
import type { AppConfig } from '@herald/config';

/** Request headers a browser client of the HTTP transports may send. */
export const CORS_ALLOWED_HEADERS = 'Authorization, Content-Type, Last-Event-ID';
const PREFLIGHT_MAX_AGE_SECONDS = '600';

/**
 * CORS for the HTTP transports, from the app's `allowedOrigins`. No credentials mode: clients
 * authenticate with a token or session credential, never cookies, so `Access-Control-Allow-
 * Credentials` is never sent. Returns the headers for a response, `{}` for a request without
 * Origin (not a browser), or undefined when the origin is refused.
 */
export function corsHeaders(app: AppConfig, origin: string | undefined): Record<string, string> | undefined {
  if (origin === undefined) return {};
  if (!isOriginAllowed(app, origin)) return undefined;
  return { 'access-control-allow-origin': origin, vary: 'Origin' };
}

/** Headers answering a preflight for `method`, or undefined when it must be refused. */
export function preflightHeaders(
  app: AppConfig | undefined,
  origin: string | undefined,
  requestedMethod: string | undefined,
  method: 'GET' | 'POST',
): Record<string, string> | undefined {
  if (!app || origin === undefined || requestedMethod?.toUpperCase() !== method) return undefined;
  const base = corsHeaders(app, origin);
  if (!base) return undefined;
  return {
    ...base,
    'access-control-allow-methods': `${method}, OPTIONS`,
    'access-control-allow-headers': CORS_ALLOWED_HEADERS,
    'access-control-max-age': PREFLIGHT_MAX_AGE_SECONDS,
  };
}
