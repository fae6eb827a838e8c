/**
 * Test helpers for the SDK's end-to-end suites (Node only; never on the SDK's browser path).
 *
 * TcpProxy exists because the conditions the SDK must survive are network conditions a node does
 * not produce on request: a connection dropped mid-stream (`cut`), an outage during which
 * publications pile up (`hold` refuses new connections until `release`), a proxy that strips
 * WebSocket upgrades (`refuseUpgrades`), one that breaks some HTTP paths (`breakPaths`: SSE
 * through a proxy that kills or buffers event streams), and a load balancer that moves to another
 * node (`retarget`). It listens on port 0. Extend it with a new network condition rather than by
 * reaching into the node.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { TypedEmitter } from '../src/emitter.js';

export interface TcpProxyOptions {
  /** Answer every WebSocket upgrade with 403, as a proxy that does not carry WebSocket would. */
  refuseUpgrades?: boolean;
  /**
   * Requests whose path starts with a key are broken: `drop` closes the connection at once (the
   * client sees a network error), `stall` swallows the request and never answers (a proxy that
   * buffers a streaming response). Checked on a connection's first request; the SDK opens every
   * event stream on a connection of its own.
   */
  breakPaths?: Record<string, 'drop' | 'stall'>;
}

export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private held = false;
  /** Upgrade requests refused so far. */
  refusedUpgrades = 0;
  /** Requests broken by `breakPaths` so far, by path prefix. */
  readonly broken = new Map<string, number>();
  private target: { host: string; port: number };

  private constructor(
    private readonly server: Server,
    readonly url: string,
    target: string,
  ) {
    this.target = TcpProxy.parse(target);
  }

  private static parse(target: string): { host: string; port: number } {
    const { hostname, port } = new URL(target);
    return { host: hostname, port: Number(port) };
  }

  static async start(target: string, options: TcpProxyOptions = {}): Promise<TcpProxy> {
    const ref: { proxy?: TcpProxy } = {};
    const server = createServer((socket) => {
      const p = ref.proxy!;
      if (p.held) {
        socket.destroy();
        return;
      }
      p.sockets.add(socket);
      socket.on('close', () => p.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      socket.once('data', (first) => {
        if (options.refuseUpgrades && /^upgrade:\s*websocket/im.test(first.toString('latin1'))) {
          p.refusedUpgrades++;
          socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
          return;
        }
        const path = /^[A-Z]+ (\S+)/.exec(first.toString('latin1'))?.[1] ?? '';
        for (const [prefix, mode] of Object.entries(options.breakPaths ?? {})) {
          if (!path.startsWith(prefix)) continue;
          p.broken.set(prefix, (p.broken.get(prefix) ?? 0) + 1);
          if (mode === 'drop') socket.destroy();
          // 'stall': keep the socket open and never answer (it is closed by cut() or close()).
          return;
        }
        const upstream = createConnection(p.target);
        p.sockets.add(upstream);
        upstream.on('close', () => {
          p.sockets.delete(upstream);
          socket.destroy();
        });
        upstream.on('error', () => upstream.destroy());
        socket.on('close', () => upstream.destroy());
        upstream.write(first);
        socket.pipe(upstream);
        upstream.pipe(socket);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as AddressInfo;
    ref.proxy = new TcpProxy(server, `http://127.0.0.1:${address.port}`, target);
    return ref.proxy;
  }

  /** Drops every open connection, as a network failure would (the client sees 1006 / a stream error). */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Cuts every connection and refuses new ones until `release`. */
  hold(): void {
    this.held = true;
    this.cut();
  }

  release(): void {
    this.held = false;
  }

  /**
   * New connections go to `target` from now on (open ones stay where they are), as a load
   * balancer does once a draining node has left its pool.
   */
  retarget(target: string): void {
    this.target = TcpProxy.parse(target);
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The next event `name` on `emitter` matching `match`, within `timeoutMs` (no polling). */
export function nextEvent<E extends object, K extends keyof E>(
  emitter: TypedEmitter<E>,
  name: K,
  match: (e: E[K]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<E[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${String(name)} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = emitter.on(name, (e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}
