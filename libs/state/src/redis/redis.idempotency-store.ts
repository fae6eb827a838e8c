import { RedisScript, type RedisConnection } from '@herald/redis';
import type { ClaimResult, IdempotencyStore } from '../idempotency-store.js';
import { ms, type RedisStateOptions } from './redis-state.js';

/** Value of a claimed key; a completed one is DONE followed by the result. */
const PENDING = 'p';
const DONE = 'd';

/** KEYS: key. Deletes it only while it is a pending claim: a completed result stays. */
const RELEASE = new RedisScript(
  'idempotency.release',
  `if redis.call('GET', KEYS[1]) == '${PENDING}' then redis.call('DEL', KEYS[1]) end return 1`,
);

/**
 * IdempotencyStore on Redis (see the port for the guarantees): one string per key,
 * `<prefix>{<app>}:idem:<key>`. `claim` is a single SET NX PX GET: it creates the pending claim, or
 * returns what is there, atomically; the key's TTL is the claim's (then the result's) lifetime.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly connection: RedisConnection;

  constructor(options: RedisStateOptions) {
    this.connection = options.connection;
  }

  async claim(appId: string, key: string, ttlMs: number): Promise<ClaimResult> {
    const previous = await this.connection.run((client) =>
      client.set(this.key(appId, key), PENDING, 'PX', ms(ttlMs), 'NX', 'GET'),
    );
    if (previous === null) return { status: 'claimed' };
    if (previous.startsWith(DONE)) return { status: 'done', result: previous.slice(DONE.length) };
    return { status: 'pending' };
  }

  async complete(appId: string, key: string, result: string, ttlMs: number): Promise<void> {
    await this.connection.run((client) => client.set(this.key(appId, key), DONE + result, 'PX', ms(ttlMs)));
  }

  async release(appId: string, key: string): Promise<void> {
    await this.connection.run((client) => RELEASE.run(client, [this.key(appId, key)], []));
  }

  private key(appId: string, key: string): string {
    return `${this.connection.keyPrefix}{${appId}}:idem:${key}`;
  }
}
