import { RedisScript, type RedisConnection } from '@herald/redis';
import type { RevocationStore } from '../revocation-store.js';
import { ms, type RedisStateOptions } from './redis-state.js';

/**
 * KEYS: key. ARGV: value, ttlMs, mode ('max': keep the larger number; 'set': any value).
 * Never weakens a revocation: the value only grows (mode max) and the expiry only moves later.
 */
const REVOKE = new RedisScript(
  'revocation.revoke',
  `
local key, value, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2])
local current = redis.call('GET', key)
if current and ARGV[3] == 'max' and tonumber(current) >= tonumber(value) then value = current end
local pttl = redis.call('PTTL', key)
if pttl > ttl then ttl = pttl end
redis.call('SET', key, value, 'PX', ttl)
return 1
`,
);

/**
 * RevocationStore on Redis (see the port for the guarantees): `<prefix>{<app>}:rv:t:<jti>` (revoked
 * token ids) and `<prefix>{<app>}:rv:u:<user>` (revoke-before mark in seconds), each with its TTL.
 */
export class RedisRevocationStore implements RevocationStore {
  private readonly connection: RedisConnection;

  constructor(options: RedisStateOptions) {
    this.connection = options.connection;
  }

  async revokeToken(appId: string, jti: string, ttlMs: number): Promise<void> {
    await this.connection.run((client) =>
      REVOKE.run(client, [this.key(appId, 't', jti)], ['1', ms(ttlMs), 'set']),
    );
  }

  async isTokenRevoked(appId: string, jti: string): Promise<boolean> {
    return (await this.connection.run((client) => client.exists(this.key(appId, 't', jti)))) === 1;
  }

  async revokeUser(appId: string, user: string, issuedBefore: number, ttlMs: number): Promise<void> {
    if (!Number.isFinite(issuedBefore))
      throw new RangeError(`issuedBefore must be a number, got ${issuedBefore}`);
    await this.connection.run((client) =>
      REVOKE.run(client, [this.key(appId, 'u', user)], [String(issuedBefore), ms(ttlMs), 'max']),
    );
  }

  async userRevokedBefore(appId: string, user: string): Promise<number | undefined> {
    const value = await this.connection.run((client) => client.get(this.key(appId, 'u', user)));
    return value === null ? undefined : Number(value);
  }

  private key(appId: string, kind: 't' | 'u', id: string): string {
    return `${this.connection.keyPrefix}{${appId}}:rv:${kind}:${id}`;
  }
}
