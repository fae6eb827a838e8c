import { asArray, asNumber, asString, RedisScript, type RedisConnection } from '@herald/redis';
import type { ClaimedPushJob, PushStateStore } from '../push-state-store.js';

/** KEYS: the send record. ARGV: leaseMs. Returns 'sent', 'busy' or 'claimed'. */
const BEGIN = new RedisScript(
  'push.begin',
  `
local v = redis.call('GET', KEYS[1])
if v == 'sent' then return 'sent' end
if v then return 'busy' end
redis.call('SET', KEYS[1], 'claim', 'PX', tonumber(ARGV[1]))
return 'claimed'
`,
);

/** KEYS: the send record. Deletes it only while it is a claim (never a `sent` record). */
const RELEASE = new RedisScript(
  'push.release',
  `
if redis.call('GET', KEYS[1]) == 'claim' then redis.call('DEL', KEYS[1]) end
return 1
`,
);

/** Keeps the deployment-wide index entry of one app at its earliest due time (or removes it). */
const REINDEX = `
local function reindex(due, index, app)
  local first = redis.call('ZRANGE', due, 0, 0, 'WITHSCORES')
  if first[2] then redis.call('ZADD', index, first[2], app) else redis.call('ZREM', index, app) end
end
`;

/** KEYS: due zset, jobs hash, index. ARGV: id, dueAt, job, app. */
const PARK = new RedisScript(
  'push.park',
  `${REINDEX}
redis.call('ZADD', KEYS[1], tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
reindex(KEYS[1], KEYS[3], ARGV[4])
return 1
`,
);

/**
 * KEYS: index. ARGV: key prefix, now, limit, lease (new due time of claimed jobs).
 * Returns app, id, job triples. Apps are visited earliest-due first, each app's jobs in due order.
 */
const CLAIM = new RedisScript(
  'push.claim',
  `${REINDEX}
local P, now, limit, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {}
local n = 0
local apps = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
for _, app in ipairs(apps) do
  if n >= limit then break end
  local due, jobs = P .. '{' .. app .. '}:push:due', P .. '{' .. app .. '}:push:jobs'
  local ids = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, limit - n)
  for _, id in ipairs(ids) do
    local job = redis.call('HGET', jobs, id)
    if job then
      redis.call('ZADD', due, lease, id)
      out[#out + 1] = app
      out[#out + 1] = id
      out[#out + 1] = job
      n = n + 1
    else
      redis.call('ZREM', due, id)
    end
  end
  reindex(due, KEYS[1], app)
end
return out
`,
);

/** KEYS: due zset, jobs hash, index. ARGV: id, lease, app. Removes the job only under that claim. */
const UNPARK = new RedisScript(
  'push.unpark',
  `${REINDEX}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  reindex(KEYS[1], KEYS[3], ARGV[3])
end
return 1
`,
);

function ms(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs));
}

/**
 * PushStateStore on Redis (see the port): `<prefix>{<app>}:push:a:<user>:<message>` (acks) and
 * `<prefix>{<app>}:push:s:<message>:<device>` (send records, `claim` or `sent`), each with its TTL.
 *
 * Parked jobs, per app (the hash tag keeps an app's keys in one cluster slot):
 *   `<prefix>{<app>}:push:due`   zset  parked id → due time (epoch ms; a claimed job: its lease)
 *   `<prefix>{<app>}:push:jobs`  hash  parked id → job
 * and one per deployment, `<prefix>push:due-apps` (zset app → its earliest due time), so a claim
 * finds due apps without scanning. The park, claim and unpark scripts update an app's keys and that
 * index together, atomically (like the occupancy lease set, the index spans all apps: the scripts
 * need a single Redis or a primary with replicas, not Redis Cluster).
 */
export class RedisPushStateStore implements PushStateStore {
  constructor(private readonly connection: RedisConnection) {}

  async ack(appId: string, user: string, messageId: string, ttlMs: number): Promise<void> {
    await this.connection.run((c) => c.set(this.ackKey(appId, user, messageId), '1', 'PX', ms(ttlMs)));
  }

  async isAcked(appId: string, user: string, messageId: string): Promise<boolean> {
    return (await this.connection.run((c) => c.exists(this.ackKey(appId, user, messageId)))) === 1;
  }

  async begin(
    appId: string,
    messageId: string,
    device: string,
    leaseMs: number,
  ): Promise<'claimed' | 'sent' | 'busy'> {
    const r = await this.connection.run((c) =>
      BEGIN.run(c, [this.sendKey(appId, messageId, device)], [ms(leaseMs)]),
    );
    return r === 'sent' || r === 'busy' ? r : 'claimed';
  }

  async markSent(appId: string, messageId: string, device: string, ttlMs: number): Promise<void> {
    await this.connection.run((c) => c.set(this.sendKey(appId, messageId, device), 'sent', 'PX', ms(ttlMs)));
  }

  async release(appId: string, messageId: string, device: string): Promise<void> {
    await this.connection.run((c) => RELEASE.run(c, [this.sendKey(appId, messageId, device)], []));
  }

  async park(appId: string, id: string, dueAt: number, job: string): Promise<void> {
    await this.connection.run((c) => PARK.run(c, this.parkKeys(appId), [id, Math.floor(dueAt), job, appId]));
  }

  async claimDue(now: number, limit: number, leaseMs: number): Promise<ClaimedPushJob[]> {
    if (limit <= 0) return [];
    const lease = Math.floor(now) + ms(leaseMs);
    const reply = asArray(
      await this.connection.run((c) =>
        CLAIM.run(c, [this.indexKey()], [this.connection.keyPrefix, Math.floor(now), limit, lease]),
      ),
      CLAIM.name,
    );
    const out: ClaimedPushJob[] = [];
    for (let i = 0; i + 2 < reply.length; i += 3) {
      out.push({
        appId: asString(reply[i], CLAIM.name),
        id: asString(reply[i + 1], CLAIM.name),
        job: asString(reply[i + 2], CLAIM.name),
        lease,
      });
    }
    return out;
  }

  async unpark(appId: string, id: string, lease: number): Promise<void> {
    await this.connection.run((c) => UNPARK.run(c, this.parkKeys(appId), [id, lease, appId]));
  }

  async listParked(appId: string, limit: number): Promise<{ id: string; dueAt: number }[]> {
    if (limit <= 0) return [];
    const flat = await this.connection.run((c) =>
      c.zrange(this.parkKeys(appId)[0], '0', String(limit - 1), 'WITHSCORES'),
    );
    const out: { id: string; dueAt: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      out.push({ id: flat[i], dueAt: asNumber(flat[i + 1], 'push.listParked') });
    return out;
  }

  private parkKeys(appId: string): [string, string, string] {
    const base = `${this.connection.keyPrefix}{${appId}}:push:`;
    return [`${base}due`, `${base}jobs`, this.indexKey()];
  }

  private indexKey(): string {
    return `${this.connection.keyPrefix}push:due-apps`;
  }

  private ackKey(appId: string, user: string, messageId: string): string {
    return `${this.connection.keyPrefix}{${appId}}:push:a:${user}:${messageId}`;
  }

  private sendKey(appId: string, messageId: string, device: string): string {
    return `${this.connection.keyPrefix}{${appId}}:push:s:${messageId}:${device}`;
  }
}
