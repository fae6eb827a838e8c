import type { RedisConnection } from '@herald/redis';

/** What every Redis state store takes: the (usually shared) connection. */
export interface RedisStateOptions {
  connection: RedisConnection;
}

/** A TTL as Redis wants it for PX: whole milliseconds, at least 1. */
export function ms(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs));
}
