import { asArray, asNumber, RedisScript, type RedisConnection } from '@herald/redis';
import type { RateDecision, RateLimit, RateLimiter } from '../rate-limiter.js';
import type { RedisStateOptions } from './redis-state.js';

/** A `perSecond: 0` bucket never refills: it is kept this long after its last use, as in memory. */
const NEVER_REFILLS_KEEP_MS = 86_400_000;

/**
 * KEYS: bucket hash {tokens, last}. ARGV: perSecond, burst, cost.
 * The same arithmetic as TokenBucket, on Redis' clock (TIME, microseconds) so every node agrees:
 * refill since `last` (a clock step backwards refills nothing), cap at burst (a lowered limit
 * applies at once), take `cost` if there (with the same tolerance for float error), else nothing.
 * The key expires when the bucket would be full again: a missing bucket starts full, so that is
 * the same. Returns {allowed 1/0, remaining whole tokens, retryAfterMs (-1: never)}.
 */
const CONSUME = new RedisScript(
  'rateLimiter.consume',
  `
local key = KEYS[1]
local per_second, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local state = redis.call('HMGET', key, 'tokens', 'last')
local tokens, last = tonumber(state[1]), tonumber(state[2])
if not tokens then tokens, last = burst, now end
if now > last then
  if tokens < burst then tokens = math.min(burst, tokens + (now - last) * per_second / 1000) end
end
last = now
if tokens > burst then tokens = burst end
local EPSILON = 1e-9
local allowed = tokens + EPSILON >= cost
if allowed then tokens = math.max(0, tokens - cost) end
local retry = 0
if not allowed then
  if cost > burst or per_second <= 0 then retry = -1
  else retry = math.ceil((cost - tokens) * 1000 / per_second) end
end
local keep
if per_second > 0 then keep = math.ceil((burst - tokens) * 1000 / per_second) + 1000
else keep = ${NEVER_REFILLS_KEEP_MS} end
redis.call('HSET', key, 'tokens', string.format('%.17g', tokens), 'last', string.format('%.17g', last))
redis.call('PEXPIRE', key, keep)
return {allowed and 1 or 0, math.floor(tokens + EPSILON), retry}
`,
);

/**
 * RateLimiter on Redis (see the port for the guarantees): one hash per bucket,
 * `<prefix>{<app>}:rl:<key>`, updated by one Lua script, so the decision is atomic across nodes.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly connection: RedisConnection;

  constructor(options: RedisStateOptions) {
    this.connection = options.connection;
  }

  async consume(appId: string, key: string, limit: RateLimit, cost = 1): Promise<RateDecision> {
    if (!(cost >= 0)) throw new RangeError(`token cost must be >= 0, got ${cost}`);
    if (!(limit.perSecond >= 0) || !(limit.burst >= 0)) {
      throw new RangeError(
        `token bucket needs perSecond >= 0 and burst >= 0, got ${limit.perSecond}/${limit.burst}`,
      );
    }
    const reply = asArray(
      await this.connection.run((client) =>
        CONSUME.run(
          client,
          [`${this.connection.keyPrefix}{${appId}}:rl:${key}`],
          [limit.perSecond, limit.burst, cost],
        ),
      ),
      CONSUME.name,
    );
    const retry = asNumber(reply[2], 'retryAfterMs');
    return {
      allowed: reply[0] === 1,
      remaining: asNumber(reply[1], 'remaining'),
      retryAfterMs: retry < 0 ? Infinity : retry,
    };
  }
}
