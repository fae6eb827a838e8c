import type { AppConfig } from '@herald/config';

/**
 * Whether a browser Origin may connect to the app.
 * - No Origin header: a non-browser client (server, mobile app), which can forge any header
 *   anyway, so origins protect only browsers; allowed.
 * - "*" allows every origin (including "null" from sandboxed frames and file://).
 * - "https://app.example.com" matches that scheme, host and port exactly, after normalising case
 *   and default ports (":443" for https/wss, ":80" for http/ws).
 * - "https://*.example.com" matches any subdomain at any depth, never example.com itself and never
 *   evil-example.com; scheme and port must match too.
 */
export function isOriginAllowed(app: AppConfig, origin: string | undefined): boolean {
  if (origin === undefined) return true;
  const patterns = compiled(app.allowedOrigins);
  if (patterns.any) return true;
  const o = parseOrigin(origin);
  if (!o) return false;
  return patterns.list.some(
    (p) =>
      p.scheme === o.scheme &&
      p.port === o.port &&
      (p.wildcard ? o.host.endsWith(`.${p.host}`) : o.host === p.host),
  );
}

interface Origin {
  scheme: string;
  host: string;
  port: string;
}

interface Pattern extends Origin {
  wildcard: boolean;
}

interface Compiled {
  any: boolean;
  list: Pattern[];
}

const cache = new WeakMap<readonly string[], Compiled>();

function compiled(allowed: readonly string[]): Compiled {
  let c = cache.get(allowed);
  if (!c) {
    c = { any: allowed.includes('*'), list: [] };
    for (const entry of allowed) {
      const wildcard = /^[a-z][a-z0-9+.-]*:\/\/\*\./i.test(entry);
      const parsed = parseOrigin(wildcard ? entry.replace('://*.', '://') : entry);
      if (parsed) c.list.push({ ...parsed, wildcard });
    }
    cache.set(allowed, c);
  }
  return c;
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };

function parseOrigin(value: string): Origin | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  // An origin is scheme://host[:port] only: anything else is not a browser Origin header.
  if (
    url.username ||
    url.password ||
    url.search ||
    url.hash ||
    (url.pathname !== '/' && url.pathname !== '')
  ) {
    return undefined;
  }
  // Empty labels (".example.com", "a..example.com") are not hosts a browser sends; refuse them so
  // a wildcard can never match an empty subdomain.
  if (!url.hostname || url.hostname.split('.').some((label) => label === '')) return undefined;
  const port = url.port || DEFAULT_PORTS[url.protocol] || '';
  return { scheme: url.protocol, host: url.hostname.toLowerCase(), port };
}
