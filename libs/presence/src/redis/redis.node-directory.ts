import type { RedisConnection } from '@herald/redis';
import type { NodeDirectory } from '../node-directory.js';

export interface RedisNodeDirectoryOptions {
  connection: RedisConnection;
}

/**
 * NodeDirectory on Redis: one string key per node, `<prefix>nodes:<tag>` → URL, with the TTL as
 * the key's expiry (so a dead node's entry vanishes on its own; no sweep needed).
 */
export class RedisNodeDirectory implements NodeDirectory {
  private readonly connection: RedisConnection;

  constructor(options: RedisNodeDirectoryOptions) {
    this.connection = options.connection;
  }

  private key(tag: string): string {
    return `${this.connection.keyPrefix}nodes:${tag}`;
  }

  async advertise(tag: string, url: string, ttlMs: number): Promise<void> {
    await this.connection.run((r) => r.set(this.key(tag), url, 'PX', Math.max(1, Math.ceil(ttlMs))));
  }

  async withdraw(tag: string): Promise<void> {
    await this.connection.run((r) => r.del(this.key(tag)));
  }

  async lookup(tag: string): Promise<string | undefined> {
    const url = await this.connection.run((r) => r.get(this.key(tag)));
    return url ?? undefined;
  }
}
