import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export type ProxyMode = 'up' | 'down' | 'stall';

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Bytes held while stalled, delivered in order when the proxy is up again. */
  toUpstream: Buffer[];
  toClient: Buffer[];
}

/**
 * A TCP proxy in front of a real Redis, so a test can take "Redis" away without touching the
 * shared server other suites use:
 * - `up`: forwards bytes both ways;
 * - `down`: drops every open connection and refuses new ones at once (Redis stopped or restarting);
 * - `stall`: holds connections open and forwards nothing until the mode changes back to `up`, then
 *   delivers what was held (Redis frozen by SIGSTOP and resumed), so only timeouts can notice.
 * Listens on a kernel-chosen loopback port. Extend it with more modes if a test needs them.
 */
export class OutageProxy {
  private readonly server: Server;
  private readonly pairs = new Set<Pair>();
  private mode: ProxyMode = 'up';

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = createServer((client) => this.accept(client));
  }

  /** Starts a proxy to the Redis at `url`. */
  static async start(url: string): Promise<OutageProxy> {
    const target = new URL(url);
    const proxy = new OutageProxy(target.hostname, Number(target.port || 6379));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** The proxy's address, with the path (database) of the target URL kept by the caller. */
  get url(): string {
    return `redis://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  setMode(mode: ProxyMode): void {
    this.mode = mode;
    if (mode === 'down') for (const p of this.pairs) this.drop(p);
    if (mode === 'up') {
      for (const p of this.pairs) {
        for (const chunk of p.toUpstream.splice(0)) p.upstream.write(chunk);
        for (const chunk of p.toClient.splice(0)) p.client.write(chunk);
      }
    }
  }

  async close(): Promise<void> {
    for (const p of this.pairs) this.drop(p);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.mode === 'down') {
      client.destroy();
      return;
    }
    const upstream = createConnection(this.targetPort, this.targetHost);
    const pair: Pair = { client, upstream, toUpstream: [], toClient: [] };
    this.pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      if (this.mode === 'up') upstream.write(chunk);
      else pair.toUpstream.push(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (this.mode === 'up') client.write(chunk);
      else pair.toClient.push(chunk);
    });
    const drop = (): void => this.drop(pair);
    client.on('close', drop).on('error', drop);
    upstream.on('close', drop).on('error', drop);
  }

  private drop(pair: Pair): void {
    this.pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
