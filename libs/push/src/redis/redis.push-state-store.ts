import { RedisScript, type RedisConnection } from '@herald/redis';
import type { PushStateStore } from '../push-state-store.js';

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

function ms(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs));
}

/**
 * PushStateStore on Redis (see the port): `<prefix>{<app>}:push:a:<user>:<message>` (acks) and
 * `<prefix>{<app>}:push:s:<message>:<device>` (send records, `claim` or `sent`), each with its TTL.
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

  private ackKey(appId: string, user: string, messageId: string): string {
    return `${this.connection.keyPrefix}{${appId}}:push:a:${user}:${messageId}`;
  }

  private sendKey(appId: string, messageId: string, device: string): string {
    return `${this.connection.keyPrefix}{${appId}}:push:s:${messageId}:${device}`;
  }
}
