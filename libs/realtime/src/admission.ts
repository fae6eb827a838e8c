import { Inject, Injectable } from '@nestjs/common';
import { NODE_CONFIG, type NodeConfig } from '@herald/config';
import { TokenBucket } from '@herald/state';

/**
 * The node's budget of new connections per second (`newConnectionsPerSecond`, burst 2x), shared by
 * every transport: a reconnect storm is shed, not absorbed, whichever transport it arrives on.
 */
@Injectable()
export class ConnectionAdmission {
  private readonly bucket: TokenBucket;

  constructor(@Inject(NODE_CONFIG) config: NodeConfig) {
    const rate = config.newConnectionsPerSecond;
    this.bucket = new TokenBucket(rate, rate * 2);
  }

  /** Takes one new connection from the budget; false when the node must shed it. */
  take(): boolean {
    return this.bucket.take();
  }
}
