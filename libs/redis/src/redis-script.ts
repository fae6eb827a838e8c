import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A Lua script run by SHA1 (EVALSHA), loaded on first use and again after Redis lost its script
 * cache (restart, SCRIPT FLUSH) by falling back to EVAL, which also caches it.
 */
export class RedisScript {
  readonly sha1: string;

  constructor(
    /** Name for error messages. */
    readonly name: string,
    readonly lua: string,
  ) {
    this.sha1 = createHash('sha1').update(lua).digest('hex');
  }

  async run(client: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha1, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

/** Lua helpers shared by the scripts: Redis server time, so every node uses one clock. */
export const LUA_NOW_MS = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/** Reply helpers: scripts return arrays of strings and integers. */
export function asArray(reply: unknown, what: string): unknown[] {
  if (!Array.isArray(reply)) throw new TypeError(`${what}: unexpected reply ${String(reply)}`);
  return reply;
}

export function asString(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  throw new TypeError(`${what}: expected a string, got ${typeof value}`);
}

export function asNumber(value: unknown, what: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new TypeError(`${what}: expected a number, got ${String(value)}`);
  return n;
}
