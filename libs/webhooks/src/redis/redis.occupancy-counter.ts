import { asNumber, RedisScript, type RedisConnection } from '@herald/redis';
import type { OccupancyCounter } from '../occupancy.js';

/**
 * One hash per key, `<prefix>{<app>}:occ:<key>` with fields `n` (the count) and `a` (announced):
 * the app id is the hash tag, so a Redis Cluster keeps an app's keys on one slot and no two apps
 * ever share a key. A hash whose count is 0 and whose flag is unset is deleted by the same script
 * that made it so.
 */
const ADD = new RedisScript(
  'occupancy-add',
  `
local n = redis.call('HINCRBY', KEYS[1], 'n', ARGV[1])
if n < 0 then
  n = 0
  redis.call('HSET', KEYS[1], 'n', 0)
end
if n == 0 and redis.call('HGET', KEYS[1], 'a') ~= '1' then
  redis.call('DEL', KEYS[1])
end
return n
`,
);

const SET_ANNOUNCED = new RedisScript(
  'occupancy-set-announced',
  `
local prev = redis.call('HGET', KEYS[1], 'a')
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 'a', '1')
else
  redis.call('HDEL', KEYS[1], 'a')
  local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
  if n == 0 then redis.call('DEL', KEYS[1]) end
end
if prev == '1' then return 1 end
return 0
`,
);

/**
 * Cluster-wide OccupancyCounter on Redis (Lua scripts, so each call is one atomic step across
 * every gateway). See OccupancyCounter for the contract.
 *
 * Limitation: counts are plain counters, so the subscriptions of a gateway that dies without
 * closing its connections (kill -9) stay counted and their channels are never reported vacated.
 * The fix is per-gateway fields with a lease (`c:<node>` plus an expiry refreshed by a heartbeat)
 * and a sweeper that drops expired fields and reports the keys that became empty.
 */
export class RedisOccupancyCounter implements OccupancyCounter {
  constructor(private readonly connection: RedisConnection) {}

  private key(appId: string, key: string): string {
    return `${this.connection.keyPrefix}{${appId}}:occ:${key}`;
  }

  async add(appId: string, key: string, delta: 1 | -1): Promise<number> {
    const k = this.key(appId, key);
    return this.connection.run(async (r) => asNumber(await ADD.run(r, [k], [delta]), ADD.name));
  }

  async count(appId: string, key: string): Promise<number> {
    const k = this.key(appId, key);
    const n = await this.connection.run((r) => r.hget(k, 'n'));
    return n === null ? 0 : Number(n);
  }

  async setAnnounced(appId: string, key: string, announced: boolean): Promise<boolean> {
    const k = this.key(appId, key);
    return this.connection.run(
      async (r) =>
        asNumber(await SET_ANNOUNCED.run(r, [k], [announced ? '1' : '0']), SET_ANNOUNCED.name) === 1,
    );
  }
}
