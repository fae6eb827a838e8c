import type { OnApplicationShutdown } from '@nestjs/common';
import {
  acquireRedisConnection,
  type RedisConnection,
  type RedisConnectionOptions,
} from './redis-connection.js';

/**
 * A module's hold on the process-wide shared Redis connection, as a Nest provider: the drivers of
 * the module take `connection`, and the hold is released at application shutdown, after every
 * module's onModuleDestroy (so draining code may still use Redis). The last release closes it.
 */
export class RedisConnectionHolder implements OnApplicationShutdown {
  private readonly lease;

  constructor(options: RedisConnectionOptions) {
    this.lease = acquireRedisConnection(options);
  }

  get connection(): RedisConnection {
    return this.lease.connection;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.lease.release();
  }
}
