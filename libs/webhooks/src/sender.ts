import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { AddressPolicy } from './ssrf.js';

export type SendOutcome =
  | { kind: 'response'; status: number; retryAfterMs?: number }
  | { kind: 'timeout' }
  | { kind: 'network'; error: string }
  | { kind: 'blocked'; error: string };

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Sends one POST; never throws (every failure is an outcome). Redirects are not followed. */
export interface WebhookSender {
  send(req: SendRequest): Promise<SendOutcome>;
}

export const WEBHOOK_SENDER = Symbol('WebhookSender');

/** Resolves names; injectable so tests can point a public-looking name at a private address. */
export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** `Retry-After`: seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * node:http(s) sender. The host is resolved once, every address is checked against the policy,
 * and the connection goes to the first allowed address through a pinned `lookup` (TLS still
 * verifies the certificate against the hostname): no second resolution that a rebinding DNS
 * server could answer differently. The whole exchange (connect, headers, body) is bounded by
 * `timeoutMs`; the response body is drained and ignored.
 */
export class NodeHttpWebhookSender implements WebhookSender {
  constructor(
    private readonly policy: AddressPolicy,
    private readonly resolve: Resolver = systemResolver,
  ) {}

  async send(req: SendRequest): Promise<SendOutcome> {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return { kind: 'blocked', error: 'invalid URL' };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return { kind: 'blocked', error: 'not http(s)' };
    const host = url.hostname.replace(/^\[|\]$/g, '');
    let addresses: string[];
    try {
      addresses = isIP(host) ? [host] : await this.resolve(host);
    } catch (err) {
      return { kind: 'network', error: `resolve ${host}: ${String(err)}` };
    }
    const allowed = addresses.find((a) => this.policy.refusal(a) === undefined);
    if (allowed === undefined) {
      return { kind: 'blocked', error: this.policy.refusal(addresses[0] ?? '') ?? 'no address' };
    }
    const family = isIP(allowed);
    const pinned: LookupFunction = (_hostname, options, callback) => {
      if ((options as { all?: boolean }).all) {
        (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
          { address: allowed, family },
        ]);
      } else callback(null, allowed, family);
    };
    const options: RequestOptions = {
      method: 'POST',
      headers: {
        ...req.headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(req.body)),
        'user-agent': 'Herald-Webhooks/1',
      },
      lookup: pinned,
      agent: false,
      ...(req.signal ? { signal: req.signal } : {}),
    };
    const requester = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<SendOutcome>((done) => {
      let settled = false;
      const finish = (o: SendOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        done(o);
      };
      const r = requester(url, options, (res) => {
        res.resume();
        res.on('end', () => {
          const ra = res.headers['retry-after'];
          const retryAfterMs = parseRetryAfter(Array.isArray(ra) ? ra[0] : ra, Date.now());
          finish({
            kind: 'response',
            status: res.statusCode ?? 0,
            ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
          });
        });
        res.on('error', (err) => finish({ kind: 'network', error: String(err) }));
      });
      const timer = setTimeout(() => {
        finish({ kind: 'timeout' });
        r.destroy();
      }, req.timeoutMs);
      r.on('error', (err) => finish({ kind: 'network', error: String(err) }));
      r.end(req.body);
    });
  }
}
