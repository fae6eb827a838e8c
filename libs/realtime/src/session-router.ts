import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { NODE_CONFIG, type NodeConfig } from '@herald/config';
import { SESSION_NODE_TAG, SESSION_NODE_TAG_LENGTH } from '@herald/core';
import { NODE_DIRECTORY, type NodeDirectory } from '@herald/presence';
import type { HttpResponse } from './http-transport.js';

/**
 * Marks a request forwarded by another node. A node never forwards such a request again, so a
 * stale directory entry cannot make two nodes bounce a request between them. A client setting it
 * only loses forwarding for its own request.
 */
export const FORWARDED_HEADER = 'x-herald-forwarded-by';

/** Hop-by-hop headers (RFC 9110 7.6.1) and those the forwarding request sets itself. */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'content-length',
  FORWARDED_HEADER,
]);

/** A forwarded request that gets no response headers from the owner within this time fails (502). */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * Routes HTTP session commands (`POST /connection/session/{id}`, long-polls with a cursor) that
 * arrive at a node which does not hold the session to the node that does. SSE and long-poll
 * sessions live in one process, but a load balancer may send a client's next request anywhere.
 *
 * How: every session id begins with its node's tag (SESSION_NODE_TAG); each node advertises its
 * internal base URL under its tag in the NodeDirectory (Redis in a cluster), refreshed at a third
 * of the presence TTL, so a dead node disappears like its presence. A non-owner looks the tag up
 * and proxies the request as is (method, path, headers, body) and streams the owner's answer
 * back: authorization, frames and errors are all the owner's, the forwarding node adds nothing
 * (a dumb pipe, like a transport). Unknown tag: the session is gone, answered as before.
 * Documented in docs/scaling.md, "Routing HTTP session commands".
 */
@Injectable()
export class SessionRouter implements OnModuleDestroy {
  private readonly log = new Logger('SessionRouter');
  private url: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    @Inject(NODE_DIRECTORY) private readonly directory: NodeDirectory,
  ) {}

  get ttlMs(): number {
    return this.config.presence.ttlSeconds * 1000;
  }

  /** This node's advertised URL (`cluster.advertiseUrl`, else derived from host and port). */
  advertisedUrl(port: number, tls: boolean): string {
    const configured = this.config.cluster.advertiseUrl;
    if (configured) return configured;
    const host = this.config.http.host;
    const any = host === '0.0.0.0' || host === '::' || host === '';
    const name = any ? hostname() : host.includes(':') ? `[${host}]` : host;
    return `${tls ? 'https' : 'http'}://${name}:${port}`;
  }

  /** Starts advertising this node once it listens (called by the entry point after `listen`). */
  async start(url: string): Promise<void> {
    this.url = url;
    await this.advertise();
    const every = Math.max(500, Math.floor(this.ttlMs / 3));
    this.timer = setInterval(() => void this.advertise(), every);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.url === undefined) return;
    this.url = undefined;
    // Best effort: a node that cannot withdraw disappears with its TTL anyway.
    await this.directory.withdraw(SESSION_NODE_TAG).catch(() => undefined);
  }

  private async advertise(): Promise<void> {
    const url = this.url;
    if (url === undefined) return;
    try {
      await this.directory.advertise(SESSION_NODE_TAG, url, this.ttlMs);
    } catch (err) {
      this.log.warn({ msg: 'advertising this node failed; retried at the next refresh', err: String(err) });
    }
  }

  /**
   * The base URL of the node holding `sessionId`, when it is another live node and the request
   * was not forwarded already; undefined otherwise (handle locally). A directory failure counts as
   * "unknown": the caller answers as for a session that is gone.
   */
  async ownerOf(sessionId: string, req: IncomingMessage): Promise<string | undefined> {
    if (req.headers[FORWARDED_HEADER] !== undefined) return undefined;
    if (sessionId.length <= SESSION_NODE_TAG_LENGTH) return undefined;
    const tag = sessionId.slice(0, SESSION_NODE_TAG_LENGTH);
    if (tag === SESSION_NODE_TAG) return undefined;
    try {
      return await this.directory.lookup(tag);
    } catch (err) {
      this.log.warn({ msg: 'node directory lookup failed', err: String(err) });
      return undefined;
    }
  }

  /**
   * Proxies the request to `base` (same method, path, query and headers, and `body`) and streams
   * the answer back. A client that goes away aborts
   * the forwarded request (a held long-poll is released on the owner like a direct one).
   */
  forward(req: IncomingMessage, res: HttpResponse, base: string, body?: string): Promise<void> {
    const target = new URL(req.url ?? '/', base);
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !NOT_FORWARDED.has(name) && !name.startsWith(':')) headers[name] = value;
    }
    headers[FORWARDED_HEADER] = SESSION_NODE_TAG;
    if (body !== undefined) {
      // The body was read (and possibly parsed as JSON) here: it goes on as newline-separated frames.
      headers['content-type'] = 'text/plain; charset=utf-8';
      headers['content-length'] = Buffer.byteLength(body, 'utf8');
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<void>((resolve) => {
      const upstream = send(target, { method: req.method, headers, timeout: CONNECT_TIMEOUT_MS });
      const fail = (why: string) => {
        this.log.warn({ msg: 'forwarding a session request failed', to: base, err: why });
        if (!res.headersSent) {
          res.writeHead(502, {
            'content-type': 'application/json; charset=utf-8',
            'cache-control': 'no-store',
          });
          res.end(
            '{"error":{"code":116,"name":"unavailable","message":"the node holding the session did not answer"}}',
          );
        } else res.destroy();
        resolve();
      };
      upstream.once('timeout', () => upstream.destroy(new Error('no response in time')));
      upstream.once('error', (err) => fail(err.message));
      upstream.once('response', (answer) => {
        // Long-polls are held by the owner for up to poll.holdSeconds: no timeout once it answers.
        upstream.setTimeout(0);
        const copy: Record<string, string> = {};
        for (const [name, value] of Object.entries(answer.headers)) {
          if (value !== undefined && !NOT_FORWARDED.has(name)) {
            copy[name] = Array.isArray(value) ? value.join(', ') : value;
          }
        }
        res.writeHead(answer.statusCode ?? 502, copy);
        // Session endpoint and poll answers are UTF-8 JSON text.
        answer.setEncoding('utf8');
        answer.on('data', (chunk: string) => res.write(chunk));
        answer.once('end', () => {
          res.end();
          resolve();
        });
        answer.once('error', () => {
          res.destroy();
          resolve();
        });
      });
      res.once('close', () => {
        if (!upstream.destroyed) upstream.destroy();
        resolve();
      });
      // GETs (long-polls) carry no body; a command's body was read by the caller.
      upstream.end(body);
    });
  }
}
