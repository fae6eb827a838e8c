import type { RedisConnection } from '@herald/redis';
import type { TicketStore } from '../ticket-store.js';
import { ms, type RedisStateOptions } from './redis-state.js';

/**
 * TicketStore on Redis (see the port for the guarantees): `<prefix>{<app>}:tk:<ticket>` with the
 * ticket's TTL; `take` is GETDEL, so exactly one caller gets the payload, and Redis never returns
 * a key past its expiry.
 */
export class RedisTicketStore implements TicketStore {
  private readonly connection: RedisConnection;

  constructor(options: RedisStateOptions) {
    this.connection = options.connection;
  }

  async put(appId: string, ticket: string, payload: string, ttlMs: number): Promise<void> {
    await this.connection.run((client) => client.set(this.key(appId, ticket), payload, 'PX', ms(ttlMs)));
  }

  async take(appId: string, ticket: string): Promise<string | undefined> {
    const payload = await this.connection.run((client) => client.getdel(this.key(appId, ticket)));
    return payload ?? undefined;
  }

  private key(appId: string, ticket: string): string {
    return `${this.connection.keyPrefix}{${appId}}:tk:${ticket}`;
  }
}
