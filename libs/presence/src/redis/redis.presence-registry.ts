import { asArray, asNumber, asString, LUA_NOW_MS, RedisScript, type RedisConnection } from '@herald/redis';
import type {
  ConnectionEntry,
  ExpiredMember,
  JoinResult,
  LeaveResult,
  PresenceMember,
  PresenceRegistry,
  PresenceStats,
} from '../presence-registry.js';

export interface RedisPresenceRegistryOptions {
  connection: RedisConnection;
  /**
   * Every key also expires this long after the TTL of its newest entry, so a cluster that stops
   * (nobody calls `sweep()` any more) leaves nothing behind; default 1 h. Sweeps run far more
   * often, so they always see an expired member before its keys vanish.
   */
  orphanTtlMs?: number;
  /** Expired members waiting for `sweep()` beyond this many are dropped, oldest first; default 100 000. */
  maxPendingExpired?: number;
  /** Expired entries handled per `sweep()` call (the rest on the next call); default 1000. */
  sweepBatch?: number;
}

/**
 * Shared by every script. KEYS[1]: the expiry index of the whole deployment (sorted set of packed
 * entries by expiry time), KEYS[2]: the list of expired members claimed by reads and writes that
 * `sweep()` has not reported yet. ARGV[1..3]: key prefix, orphan TTL, max pending.
 *
 * Per app (`<prefix>{<app>}:` — the hash tag keeps an app's keys in one cluster slot):
 *   p:conns          zset  client → expiry (ms, Redis clock)
 *   p:conn           hash  client → user
 *   p:u:<user>       zset  client → expiry (the user's connections)
 *   p:m:<channel>    zset  client → expiry (channel members)
 *   p:mi:<channel>   hash  client → '<json user>\\n<json info>'
 *   p:mu:<channel>   hash  json user → number of the user's members in the channel
 *   p:cm:<client>    set   channels the client is a member of
 */
const PRELUDE = `${LUA_NOW_MS}
local INDEX, PENDING = KEYS[1], KEYS[2]
local PREFIX, ORPHAN_TTL, MAX_PENDING = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()

local function base(app) return PREFIX .. '{' .. app .. '}:' end

-- Length-prefixed fields: any bytes survive, whatever the ids contain.
local function pack(...)
  local out = {}
  for i = 1, select('#', ...) do
    local s = select(i, ...)
    out[#out + 1] = #s .. ':' .. s
  end
  return table.concat(out)
end

local function unpack_fields(s)
  local out, pos = {}, 1
  while pos <= #s do
    local colon = string.find(s, ':', pos, true)
    local n = tonumber(string.sub(s, pos, colon - 1))
    out[#out + 1] = string.sub(s, colon + 1, colon + n)
    pos = colon + n + 1
  end
  return out
end

-- Never shortens a key's life: its entries may have longer TTLs than this one.
local function extend(key, ms)
  local p = redis.call('PTTL', key)
  if p == -1 or (p >= 0 and p < ms) then redis.call('PEXPIRE', key, ms) end
end

local function user_of(value) return string.sub(value, 1, string.find(value, '\\n', 1, true) - 1) end

-- Removes a member, live or expired; returns its value (nil if absent) and whether it was the
-- user's last connection in the channel.
local function remove_member(app, channel, client)
  local b = base(app)
  local mi = b .. 'p:mi:' .. channel
  local value = redis.call('HGET', mi, client)
  if not value then return nil, false end
  redis.call('HDEL', mi, client)
  redis.call('ZREM', b .. 'p:m:' .. channel, client)
  redis.call('SREM', b .. 'p:cm:' .. client, channel)
  redis.call('ZREM', INDEX, pack('m', app, channel, client))
  local mu = b .. 'p:mu:' .. channel
  local user = user_of(value)
  local left = redis.call('HINCRBY', mu, user, -1)
  if left <= 0 then redis.call('HDEL', mu, user) end
  return value, left <= 0
end

-- Keeps an expired member for the next sweep() (exactly one sweep pops it).
local function report(app, channel, client, value, user_left)
  redis.call('RPUSH', PENDING, pack(app, channel, client, value, user_left and '1' or '0'))
  redis.call('LTRIM', PENDING, -MAX_PENDING, -1)
  extend(PENDING, ORPHAN_TTL)
end

-- Claims the channel's expired members for sweep(): what follows sees live members only.
local function expire_channel(app, channel)
  local expired = redis.call('ZRANGEBYSCORE', base(app) .. 'p:m:' .. channel, '-inf', now)
  for _, client in ipairs(expired) do
    local value, left = remove_member(app, channel, client)
    if value then report(app, channel, client, value, left) end
  end
end

local function remove_conn(app, client)
  local b = base(app)
  local user = redis.call('HGET', b .. 'p:conn', client)
  if not user then return end
  redis.call('HDEL', b .. 'p:conn', client)
  redis.call('ZREM', b .. 'p:conns', client)
  redis.call('ZREM', b .. 'p:u:' .. user, client)
  redis.call('ZREM', INDEX, pack('c', app, client))
end
`;

const script = (name: string, body: string): RedisScript =>
  new RedisScript(`presence.${name}`, PRELUDE + body);

/** ARGV[4..]: app, client, user, ttl. */
const ADD_CONNECTION = script(
  'addConnection',
  `
local app, client, user, ttl = ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
local b = base(app)
local exp, keep = now + ttl, ttl + ORPHAN_TTL
local prev = redis.call('HGET', b .. 'p:conn', client)
if prev and prev ~= user then redis.call('ZREM', b .. 'p:u:' .. prev, client) end
redis.call('HSET', b .. 'p:conn', client, user)
redis.call('ZADD', b .. 'p:conns', exp, client)
redis.call('ZADD', b .. 'p:u:' .. user, exp, client)
redis.call('ZADD', INDEX, exp, pack('c', app, client))
for _, k in ipairs({b .. 'p:conn', b .. 'p:conns', b .. 'p:u:' .. user, INDEX}) do extend(k, keep) end
return 1
`,
);

/** ARGV[4..]: app, client. Live memberships go silently; expired ones are kept for sweep(). */
const REMOVE_CONNECTION = script(
  'removeConnection',
  `
local app, client = ARGV[4], ARGV[5]
local b = base(app)
remove_conn(app, client)
for _, channel in ipairs(redis.call('SMEMBERS', b .. 'p:cm:' .. client)) do
  local score = redis.call('ZSCORE', b .. 'p:m:' .. channel, client)
  local value, left = remove_member(app, channel, client)
  if value and score and tonumber(score) <= now then report(app, channel, client, value, left) end
end
redis.call('DEL', b .. 'p:cm:' .. client)
return 1
`,
);

/** ARGV[4..]: app, client, ttl, channels... Extends live entries only (expired ones stay expired). */
const REFRESH = script(
  'refresh',
  `
local app, client, ttl = ARGV[4], ARGV[5], tonumber(ARGV[6])
local b = base(app)
local exp, keep = now + ttl, ttl + ORPHAN_TTL
local score = redis.call('ZSCORE', b .. 'p:conns', client)
if score and tonumber(score) > now then
  local user = redis.call('HGET', b .. 'p:conn', client)
  redis.call('ZADD', b .. 'p:conns', 'XX', exp, client)
  redis.call('ZADD', b .. 'p:u:' .. user, 'XX', exp, client)
  redis.call('ZADD', INDEX, exp, pack('c', app, client))
  for _, k in ipairs({b .. 'p:conn', b .. 'p:conns', b .. 'p:u:' .. user, INDEX}) do extend(k, keep) end
end
for i = 7, #ARGV do
  local channel = ARGV[i]
  local m = b .. 'p:m:' .. channel
  local s = redis.call('ZSCORE', m, client)
  if s and tonumber(s) > now then
    redis.call('ZADD', m, 'XX', exp, client)
    redis.call('ZADD', INDEX, exp, pack('m', app, channel, client))
    for _, k in ipairs({m, b .. 'p:mi:' .. channel, b .. 'p:mu:' .. channel, b .. 'p:cm:' .. client, INDEX}) do
      extend(k, keep)
    end
  end
end
return 1
`,
);

/** ARGV[4]: app; ARGV[5]: user, or absent for the whole app. Counts live connections. */
const COUNT_CONNECTIONS = script(
  'countConnections',
  `
local b = base(ARGV[4])
local key = ARGV[5] and (b .. 'p:u:' .. ARGV[5]) or (b .. 'p:conns')
return redis.call('ZCOUNT', key, '(' .. now, '+inf')
`,
);

/** ARGV[4..]: app, channel, client, member value, ttl. Returns {userJoined 1/0, numClients}. */
const JOIN = script(
  'join',
  `
local app, channel, client, value, ttl = ARGV[4], ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8])
expire_channel(app, channel)
local b = base(app)
local m, mi, mu, cm = b .. 'p:m:' .. channel, b .. 'p:mi:' .. channel, b .. 'p:mu:' .. channel, b .. 'p:cm:' .. client
local exp, keep = now + ttl, ttl + ORPHAN_TTL
local existing = redis.call('HGET', mi, client)
local joined = 0
if not (existing and user_of(existing) == user_of(value)) then
  -- New member (or the connection changed user: the old membership goes without a report).
  if existing then remove_member(app, channel, client) end
  if redis.call('HINCRBY', mu, user_of(value), 1) == 1 then joined = 1 end
  redis.call('SADD', cm, channel)
end
redis.call('HSET', mi, client, value)
redis.call('ZADD', m, exp, client)
redis.call('ZADD', INDEX, exp, pack('m', app, channel, client))
for _, k in ipairs({m, mi, mu, cm, INDEX}) do extend(k, keep) end
return {joined, redis.call('ZCARD', m)}
`,
);

/** ARGV[4..]: app, channel, client. Returns {removed 1/0, userLeft 1/0}. */
const LEAVE = script(
  'leave',
  `
local app, channel, client = ARGV[4], ARGV[5], ARGV[6]
expire_channel(app, channel)
local value, left = remove_member(app, channel, client)
if not value then return {0, 0} end
return {1, left and 1 or 0}
`,
);

/** ARGV[4..]: app, channel. Returns the member hash as {client, value, ...}. */
const MEMBERS = script(
  'members',
  `
local app, channel = ARGV[4], ARGV[5]
expire_channel(app, channel)
return redis.call('HGETALL', base(app) .. 'p:mi:' .. channel)
`,
);

/** ARGV[4..]: app, channel. Returns {numClients, numUsers}. */
const STATS = script(
  'stats',
  `
local app, channel = ARGV[4], ARGV[5]
expire_channel(app, channel)
local b = base(app)
return {redis.call('ZCARD', b .. 'p:m:' .. channel), redis.call('HLEN', b .. 'p:mu:' .. channel)}
`,
);

/**
 * ARGV[4]: batch size. Pops the members already claimed by reads and writes, then claims what the
 * index says has expired (dropping expired connections silently). One script, so each expired
 * member goes to exactly one caller. Returns {app, channel, client, value, userLeft 1/0, ...}.
 */
const SWEEP = script(
  'sweep',
  `
local limit = tonumber(ARGV[4])
local out = {}
local function emit(app, channel, client, value, left)
  out[#out + 1] = app
  out[#out + 1] = channel
  out[#out + 1] = client
  out[#out + 1] = value
  out[#out + 1] = left
end
local pending = redis.call('LRANGE', PENDING, 0, limit - 1)
if #pending > 0 then redis.call('LTRIM', PENDING, #pending, -1) end
for _, p in ipairs(pending) do
  local f = unpack_fields(p)
  emit(f[1], f[2], f[3], f[4], f[5])
end
for _, item in ipairs(redis.call('ZRANGEBYSCORE', INDEX, '-inf', now, 'LIMIT', 0, limit)) do
  local f = unpack_fields(item)
  redis.call('ZREM', INDEX, item)
  if f[1] == 'c' then
    local s = redis.call('ZSCORE', base(f[2]) .. 'p:conns', f[3])
    if s and tonumber(s) <= now then remove_conn(f[2], f[3])
    elseif s then redis.call('ZADD', INDEX, s, item) end
  else
    local app, channel, client = f[2], f[3], f[4]
    local s = redis.call('ZSCORE', base(app) .. 'p:m:' .. channel, client)
    if s and tonumber(s) <= now then
      local value, left = remove_member(app, channel, client)
      if value then emit(app, channel, client, value, left and '1' or '0') end
    elseif s then
      redis.call('ZADD', INDEX, s, item)
    end
  end
end
return out
`,
);

/**
 * PresenceRegistry on Redis (see the port for the guarantees). Every change is one Lua script, so
 * concurrent joins and leaves from any number of nodes see each other whole; expiry times come from
 * Redis' clock (TIME), so nodes with skewed clocks agree on who is live.
 *
 * Expiry is lazy: reads count only entries whose expiry lies ahead, and the channel scripts first
 * claim the channel's expired members into a pending list. `sweep()` pops that list and claims
 * whatever else the expiry index says has expired, so each expired member is reported once, by
 * whichever node's sweep gets it. The index and the pending list span all apps of the deployment
 * (sweep is cluster-wide), which makes these scripts multi-slot: Redis standalone or Sentinel, not
 * Redis Cluster.
 */
export class RedisPresenceRegistry implements PresenceRegistry {
  private readonly connection: RedisConnection;
  private readonly globalKeys: [index: string, pending: string];
  private readonly common: [prefix: string, orphanTtlMs: number, maxPending: number];
  private readonly sweepBatch: number;

  constructor(options: RedisPresenceRegistryOptions) {
    this.connection = options.connection;
    const prefix = this.connection.keyPrefix;
    this.globalKeys = [`${prefix}presence:expiry`, `${prefix}presence:expired`];
    this.common = [
      prefix,
      options.orphanTtlMs ?? 3_600_000,
      Math.max(1, options.maxPendingExpired ?? 100_000),
    ];
    this.sweepBatch = Math.max(1, options.sweepBatch ?? 1000);
  }

  async addConnection(appId: string, conn: ConnectionEntry, ttlMs: number): Promise<void> {
    await this.run(ADD_CONNECTION, appId, conn.client, conn.user, ttl(ttlMs));
  }

  async removeConnection(appId: string, client: string): Promise<void> {
    await this.run(REMOVE_CONNECTION, appId, client);
  }

  async refresh(appId: string, client: string, channels: readonly string[], ttlMs: number): Promise<void> {
    await this.run(REFRESH, appId, client, ttl(ttlMs), ...channels);
  }

  async isUserOnline(appId: string, user: string): Promise<boolean> {
    return (await this.countUserConnections(appId, user)) > 0;
  }

  async countUserConnections(appId: string, user: string): Promise<number> {
    return asNumber(await this.run(COUNT_CONNECTIONS, appId, user), 'count');
  }

  async countConnections(appId: string): Promise<number> {
    return asNumber(await this.run(COUNT_CONNECTIONS, appId), 'count');
  }

  async join(appId: string, channel: string, member: PresenceMember, ttlMs: number): Promise<JoinResult> {
    const reply = asArray(
      await this.run(JOIN, appId, channel, member.client, encodeMember(member), ttl(ttlMs)),
      JOIN.name,
    );
    return { userJoined: reply[0] === 1, numClients: asNumber(reply[1], 'numClients') };
  }

  async leave(appId: string, channel: string, client: string): Promise<LeaveResult> {
    const reply = asArray(await this.run(LEAVE, appId, channel, client), LEAVE.name);
    return { removed: reply[0] === 1, userLeft: reply[1] === 1 };
  }

  async members(appId: string, channel: string): Promise<PresenceMember[]> {
    const reply = asArray(await this.run(MEMBERS, appId, channel), MEMBERS.name);
    const out: PresenceMember[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) {
      out.push(decodeMember(asString(reply[i], 'client'), asString(reply[i + 1], 'member')));
    }
    return out;
  }

  async stats(appId: string, channel: string): Promise<PresenceStats> {
    const reply = asArray(await this.run(STATS, appId, channel), STATS.name);
    return { numClients: asNumber(reply[0], 'numClients'), numUsers: asNumber(reply[1], 'numUsers') };
  }

  async sweep(): Promise<ExpiredMember[]> {
    const reply = asArray(
      await this.connection.run((client) =>
        SWEEP.run(client, this.globalKeys, [...this.common, this.sweepBatch]),
      ),
      SWEEP.name,
    );
    const out: ExpiredMember[] = [];
    for (let i = 0; i + 4 < reply.length; i += 5) {
      const member = decodeMember(asString(reply[i + 2], 'client'), asString(reply[i + 3], 'member'));
      out.push({
        appId: asString(reply[i], 'app'),
        channel: asString(reply[i + 1], 'channel'),
        ...member,
        userLeft: asString(reply[i + 4], 'userLeft') === '1',
      });
    }
    return out;
  }

  private run(s: RedisScript, ...args: (string | number)[]): Promise<unknown> {
    return this.connection.run((client) => s.run(client, this.globalKeys, [...this.common, ...args]));
  }
}

function ttl(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs));
}

/**
 * `<json user>\n<json info or nothing>`: the scripts split at the first newline (JSON never has a
 * raw one) and use the user part as-is, so info is never parsed (and never altered) inside Redis.
 */
function encodeMember(member: PresenceMember): string {
  return `${JSON.stringify(member.user)}\n${member.info === undefined ? '' : JSON.stringify(member.info)}`;
}

function decodeMember(client: string, value: string): PresenceMember {
  const nl = value.indexOf('\n');
  const user = JSON.parse(value.slice(0, nl)) as string;
  const info = value.slice(nl + 1);
  return info === '' ? { client, user } : { client, user, info: JSON.parse(info) as unknown };
}
