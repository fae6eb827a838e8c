import { randomBytes } from 'node:crypto';
import type { StreamPosition } from '@herald/protocol';
import { asArray, asNumber, asString, LUA_NOW_MS, RedisScript, type RedisConnection } from '@herald/redis';
import type { AppendOptions, HistoryEntry, HistoryStore, ReadOptions, ReadResult } from '../history-store.js';

/** Meta TTL of streams created by `read`/`position` (no append, so no options): the port's default. */
const DEFAULT_META_TTL_MS = 3_600_000;

/**
 * Returns the stream's epoch and top, creating the meta (new epoch from ARGV, top 0) when it is
 * missing: never created, expired, removed, or lost with a Redis restart. A stream without meta
 * belongs to a dead epoch and is deleted, so an epoch never comes back with other contents.
 */
const LUA_META = `
local function load_meta(stream, meta, candidate, ttl_if_created)
  local m = redis.call('HMGET', meta, 'epoch', 'top')
  if m[1] then return m[1], tonumber(m[2]) end
  redis.call('DEL', stream)
  redis.call('HSET', meta, 'epoch', candidate, 'top', 0)
  redis.call('PEXPIRE', meta, ttl_if_created)
  return candidate, 0
end
`;

/**
 * KEYS: stream, meta. ARGV: value, size, ttlMs, metaTtlMs, epoch candidate.
 * Offset assignment and append in one step: top+1 becomes the entry id `<offset>-0`; the entry
 * carries its expiry time (Redis clock) so reads skip it after ttlMs; MAXLEN trims to `size`.
 * The stream key expires once its newest entry has (never earlier than an entry already there);
 * the meta key metaTtlMs after this append.
 */
const APPEND = new RedisScript(
  'history.append',
  `${LUA_NOW_MS}${LUA_META}
local stream, meta = KEYS[1], KEYS[2]
local size, ttl, meta_ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local now = now_ms()
local epoch, top = load_meta(stream, meta, ARGV[5], meta_ttl)
top = top + 1
redis.call('HSET', meta, 'top', top)
redis.call('XADD', stream, 'MAXLEN', size, top .. '-0', 'e', string.format('%d', now + ttl), 'v', ARGV[1])
local pttl = redis.call('PTTL', stream)
if pttl < ttl then redis.call('PEXPIRE', stream, ttl) end
redis.call('PEXPIRE', meta, meta_ttl)
return {top, epoch}
`,
);

/**
 * KEYS: stream, meta. ARGV: since offset, limit (-1 all, 0 none), reverse (1/0), epoch candidate.
 * Returns {top, epoch, offset1, value1, ...}: live entries after `since`, oldest first (newest first
 * with reverse), at most `limit`. Expired entries are skipped (normally they are the oldest, and
 * trimmed, so the loop runs once).
 */
const READ = new RedisScript(
  'history.read',
  `${LUA_NOW_MS}${LUA_META}
local stream, meta = KEYS[1], KEYS[2]
local since, limit, reverse = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'
local now = now_ms()
local epoch, top = load_meta(stream, meta, ARGV[4], ${DEFAULT_META_TTL_MS})
local out = {top, epoch}
if limit == 0 or since >= top then return out end
if not reverse then
  -- Entries that expired from the oldest end are dropped for good (they never come back).
  local first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
  while first and tonumber(first[2][2]) <= now do
    redis.call('XDEL', stream, first[1])
    first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
  end
end
local lowest = (since + 1) .. '-0'
local cursor = reverse and '+' or lowest
local found = 0
while true do
  local want = 100
  if limit > 0 then want = limit - found end
  local batch
  if reverse then
    batch = redis.call('XREVRANGE', stream, cursor, lowest, 'COUNT', want)
  else
    batch = redis.call('XRANGE', stream, cursor, '+', 'COUNT', want)
  end
  for _, e in ipairs(batch) do
    if tonumber(e[2][2]) > now then
      out[#out + 1] = tonumber(string.match(e[1], '^(%d+)'))
      out[#out + 1] = e[2][4]
      found = found + 1
    end
  end
  if #batch < want or (limit > 0 and found >= limit) then break end
  cursor = '(' .. batch[#batch][1]
end
return out
`,
);

export interface RedisHistoryStoreOptions {
  connection: RedisConnection;
}

/**
 * HistoryStore on Redis streams (see the port for the guarantees). Per channel two keys, both under
 * the app's hash tag so every script touches one cluster slot:
 *   `<prefix>{<app>}:h:<channel>`   stream; entry id `<offset>-0`, fields e (expiry ms), v (value)
 *   `<prefix>{<app>}:hm:<channel>`  hash: epoch, top
 * The epoch is random (from this process, used only when the script creates the meta): a flushed
 * or restarted Redis loses the meta, so the next call creates a new epoch and clients recovering
 * from the old one get `recovered: false` instead of a silent gap.
 */
export class RedisHistoryStore implements HistoryStore {
  private readonly connection: RedisConnection;

  constructor(options: RedisHistoryStoreOptions) {
    this.connection = options.connection;
  }

  async append(
    appId: string,
    channel: string,
    value: string,
    options: AppendOptions,
  ): Promise<StreamPosition> {
    if (!(options.size >= 1)) throw new RangeError(`history size must be >= 1, got ${options.size}`);
    const ttlMs = Math.max(1, Math.ceil(options.ttlMs));
    const metaTtlMs = Math.max(1, Math.ceil(options.metaTtlMs ?? Math.max(ttlMs, DEFAULT_META_TTL_MS)));
    const reply = await this.connection.run((client) =>
      APPEND.run(client, this.keys(appId, channel), [
        value,
        Math.floor(options.size),
        ttlMs,
        metaTtlMs,
        newEpoch(),
      ]),
    );
    const [top, epoch] = asArray(reply, APPEND.name);
    return { offset: asNumber(top, 'top'), epoch: asString(epoch, 'epoch') };
  }

  async read(appId: string, channel: string, options: ReadOptions): Promise<ReadResult> {
    const limit = options.limit === undefined || options.limit < 0 ? -1 : Math.floor(options.limit);
    const since = Math.max(0, Math.floor(options.since?.offset ?? 0));
    const reply = asArray(
      await this.connection.run((client) =>
        READ.run(client, this.keys(appId, channel), [since, limit, options.reverse ? 1 : 0, newEpoch()]),
      ),
      READ.name,
    );
    const entries: HistoryEntry[] = [];
    for (let i = 2; i + 1 < reply.length; i += 2) {
      entries.push({ offset: asNumber(reply[i], 'offset'), value: asString(reply[i + 1], 'value') });
    }
    return {
      entries,
      position: { offset: asNumber(reply[0], 'top'), epoch: asString(reply[1], 'epoch') },
    };
  }

  async position(appId: string, channel: string): Promise<StreamPosition> {
    return (await this.read(appId, channel, { limit: 0 })).position;
  }

  async remove(appId: string, channel: string): Promise<void> {
    await this.connection.run((client) => client.del(...this.keys(appId, channel)));
  }

  private keys(appId: string, channel: string): [stream: string, meta: string] {
    const base = `${this.connection.keyPrefix}{${appId}}:`;
    return [`${base}h:${channel}`, `${base}hm:${channel}`];
  }
}

/** 72 random bits: epochs of one stream never repeat in practice. */
function newEpoch(): string {
  return randomBytes(9).toString('base64url');
}
