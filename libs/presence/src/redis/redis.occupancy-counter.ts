import { asArray, asNumber, asString, LUA_NOW_MS, RedisScript, type RedisConnection } from '@herald/redis';
import { LeasedOccupancyCounter, type Contribution } from '../leased-occupancy-counter.js';
import { DEFAULT_OCCUPANCY_LEASE_MS, type OccupancyEntry, type VacatedKey } from '../occupancy-counter.js';

export interface RedisOccupancyCounterOptions {
  connection: RedisConnection;
  /** This node's id (the incarnations are `<node>#<random>`). */
  node: string;
  leaseMs?: number;
  /** Contributions of dead nodes removed per `sweep()` call (the rest on the next call); default 1000. */
  sweepBatch?: number;
}

/**
 * Keys. ARGV[1] of every script is the deployment's key prefix P.
 *
 * Per app (`P{<app>}:` — the hash tag keeps an app's keys in one cluster slot):
 *   occ:k:<key>   hash   `f:<incarnation>` → that node's contribution (> 0), `t` → total (> 0),
 *                        `a` → '1' when announced. Deleted when the total is 0 and `a` unset.
 *   occ:i         zset   every key of the app with a total above 0, score 0 (ZRANGEBYLEX listing)
 * Per deployment:
 *   occ:leases    zset   incarnation → lease expiry (ms, Redis clock)
 *   occ:held:<i>  set    packed (app, key) the incarnation contributes to
 *   occ:dead      set    incarnations claimed by a sweep whose contributions are still being removed
 */
const PRELUDE = `${LUA_NOW_MS}
local P = ARGV[1]
local LEASES, DEAD = P .. 'occ:leases', P .. 'occ:dead'

local function pack(a, b) return #a .. ':' .. a .. b end
local function unpack2(s)
  local colon = string.find(s, ':', 1, true)
  local n = tonumber(string.sub(s, 1, colon - 1))
  return string.sub(s, colon + 1, colon + n), string.sub(s, colon + n + 1)
end
local function hash(app, key) return P .. '{' .. app .. '}:occ:k:' .. key end

-- Adds d to the key's total, keeps the listing index and frees the hash at 0; returns the total.
local function add_total(app, key, h, d)
  local t = tonumber(redis.call('HGET', h, 't') or '0') + d
  local idx = P .. '{' .. app .. '}:occ:i'
  if t <= 0 then
    t = 0
    redis.call('HDEL', h, 't')
    redis.call('ZREM', idx, key)
    if redis.call('HGET', h, 'a') ~= '1' then redis.call('DEL', h) end
  elseif d ~= 0 then
    redis.call('HSET', h, 't', t)
    redis.call('ZADD', idx, 0, key)
  end
  return t
end
`;

const script = (name: string, body: string): RedisScript =>
  new RedisScript(`occupancy.${name}`, PRELUDE + body);

/** ARGV[2..]: incarnation, app, key, delta. Returns the total, or -1 when the lease is gone. */
const ADD = script(
  'add',
  `
local inc, app, key, delta = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
if not redis.call('ZSCORE', LEASES, inc) then return -1 end
local h = hash(app, key)
local f = 'f:' .. inc
local cur = tonumber(redis.call('HGET', h, f) or '0')
local nxt = cur + delta
if nxt < 0 then nxt = 0 end
if nxt == 0 then
  redis.call('HDEL', h, f)
  if cur > 0 then redis.call('SREM', P .. 'occ:held:' .. inc, pack(app, key)) end
else
  redis.call('HSET', h, f, nxt)
  if cur == 0 then redis.call('SADD', P .. 'occ:held:' .. inc, pack(app, key)) end
end
return add_total(app, key, h, nxt - cur)
`,
);

/** ARGV[2..]: incarnation, lease ms, register 1/0. Returns 1, or 0 when the lease is gone. */
const RENEW = script(
  'renew',
  `
local inc, lease, register = ARGV[2], tonumber(ARGV[3]), ARGV[4]
if register ~= '1' and not redis.call('ZSCORE', LEASES, inc) then return 0 end
redis.call('ZADD', LEASES, now_ms() + lease, inc)
return 1
`,
);

/** ARGV[2..]: incarnation, then (app, key, count) triples. Returns 1, or 0 when the lease is gone. */
const RESTORE = script(
  'restore',
  `
local inc = ARGV[2]
if not redis.call('ZSCORE', LEASES, inc) then return 0 end
for i = 3, #ARGV - 2, 3 do
  local app, key, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local h = hash(app, key)
  local cur = tonumber(redis.call('HGET', h, 'f:' .. inc) or '0')
  redis.call('HSET', h, 'f:' .. inc, n)
  redis.call('SADD', P .. 'occ:held:' .. inc, pack(app, key))
  add_total(app, key, h, n - cur)
end
return 1
`,
);

/** ARGV[2..]: app, key. */
const COUNT = script(
  'count',
  `
return tonumber(redis.call('HGET', hash(ARGV[2], ARGV[3]), 't') or '0')
`,
);

/** ARGV[2..]: app, key, announced 1/0. Returns the previous flag. */
const SET_ANNOUNCED = script(
  'setAnnounced',
  `
local h = hash(ARGV[2], ARGV[3])
local prev = redis.call('HGET', h, 'a')
if ARGV[4] == '1' then
  redis.call('HSET', h, 'a', '1')
else
  redis.call('HDEL', h, 'a')
  if not redis.call('HGET', h, 't') then redis.call('DEL', h) end
end
if prev == '1' then return 1 end
return 0
`,
);

/** ARGV[2..]: app, prefix, limit. Returns {key, total, ...} in byte order. */
const LIST = script(
  'list',
  `
local app, prefix, limit = ARGV[2], ARGV[3], tonumber(ARGV[4])
local min, max = '-', '+'
if prefix ~= '' then min, max = '[' .. prefix, '(' .. prefix .. '\\255' end
local out = {}
for _, key in ipairs(redis.call('ZRANGEBYLEX', P .. '{' .. app .. '}:occ:i', min, max, 'LIMIT', 0, limit)) do
  out[#out + 1] = key
  out[#out + 1] = tonumber(redis.call('HGET', hash(app, key), 't') or '0')
end
return out
`,
);

/**
 * ARGV[2]: batch. Claims the incarnations whose lease expired (ZREM from the lease set, so one
 * sweeper claims each), then removes up to `batch` of the claimed incarnations' contributions
 * (SPOP, so each is removed once). Returns {app, key, ...} of the keys whose total became 0.
 */
const SWEEP = script(
  'sweep',
  `
local budget = tonumber(ARGV[2])
for _, inc in ipairs(redis.call('ZRANGEBYSCORE', LEASES, '-inf', now_ms(), 'LIMIT', 0, 100)) do
  redis.call('ZREM', LEASES, inc)
  redis.call('SADD', DEAD, inc)
end
local out = {}
for _, inc in ipairs(redis.call('SMEMBERS', DEAD)) do
  local held = P .. 'occ:held:' .. inc
  local items = redis.call('SPOP', held, budget)
  for _, item in ipairs(items) do
    local app, key = unpack2(item)
    local h = hash(app, key)
    local n = tonumber(redis.call('HGET', h, 'f:' .. inc) or '0')
    if n > 0 then
      redis.call('HDEL', h, 'f:' .. inc)
      if add_total(app, key, h, -n) == 0 then
        out[#out + 1] = app
        out[#out + 1] = key
      end
    end
  end
  budget = budget - #items
  if redis.call('SCARD', held) == 0 then redis.call('SREM', DEAD, inc) end
  if budget <= 0 then break end
end
return out
`,
);

/**
 * Cluster-wide OccupancyCounter on Redis (see the port for the guarantees; the lease handling is in
 * LeasedOccupancyCounter). Every call is one Lua script, so concurrent changes from any number of
 * gateways see each other whole; lease expiry uses Redis' clock (TIME), so skewed node clocks
 * agree. The lease set and the dead set span all apps of the deployment, which makes the scripts
 * multi-slot: Redis standalone or Sentinel, not Redis Cluster (as the presence registry).
 */
export class RedisOccupancyCounter extends LeasedOccupancyCounter {
  private readonly connection: RedisConnection;
  private readonly sweepBatch: number;

  constructor(options: RedisOccupancyCounterOptions) {
    super(options.node, options.leaseMs ?? DEFAULT_OCCUPANCY_LEASE_MS);
    this.connection = options.connection;
    this.sweepBatch = Math.max(1, options.sweepBatch ?? 1000);
  }

  protected async addAs(inc: string, appId: string, key: string, delta: 1 | -1): Promise<number | 'lost'> {
    const n = asNumber(await this.run(ADD, inc, appId, key, delta), ADD.name);
    return n < 0 ? 'lost' : n;
  }

  protected async renewAs(inc: string, register: boolean): Promise<boolean> {
    return asNumber(await this.run(RENEW, inc, this.leaseMs, register ? '1' : '0'), RENEW.name) === 1;
  }

  protected async restoreAs(inc: string, entries: Contribution[]): Promise<boolean> {
    const args = entries.flatMap((c) => [c.appId, c.key, c.count]);
    return asNumber(await this.run(RESTORE, inc, ...args), RESTORE.name) === 1;
  }

  async count(appId: string, key: string): Promise<number> {
    return asNumber(await this.run(COUNT, appId, key), COUNT.name);
  }

  async setAnnounced(appId: string, key: string, announced: boolean): Promise<boolean> {
    return (
      asNumber(await this.run(SET_ANNOUNCED, appId, key, announced ? '1' : '0'), SET_ANNOUNCED.name) === 1
    );
  }

  async list(appId: string, prefix: string, limit: number): Promise<OccupancyEntry[]> {
    const reply = asArray(await this.run(LIST, appId, prefix, Math.max(1, Math.floor(limit))), LIST.name);
    const out: OccupancyEntry[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2)
      out.push({ key: asString(reply[i], 'key'), count: asNumber(reply[i + 1], 'count') });
    return out;
  }

  async sweep(): Promise<VacatedKey[]> {
    const reply = asArray(await this.run(SWEEP, this.sweepBatch), SWEEP.name);
    const out: VacatedKey[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2)
      out.push({ appId: asString(reply[i], 'app'), key: asString(reply[i + 1], 'key') });
    return out;
  }

  private run(s: RedisScript, ...args: (string | number)[]): Promise<unknown> {
    return this.connection.run((client) => s.run(client, [], [this.connection.keyPrefix, ...args]));
  }
}
