import { RedisConnection } from '@herald/redis';
import {
  describeWithService,
  idempotencyStoreContract,
  rateLimiterContract,
  revocationStoreContract,
  ticketStoreContract,
  uniqueId,
} from '@herald/testing';
import { RedisIdempotencyStore } from './redis.idempotency-store.js';
import { RedisRateLimiter } from './redis.rate-limiter.js';
import { RedisRevocationStore } from './redis.revocation-store.js';
import { RedisTicketStore } from './redis.ticket-store.js';

describeWithService('redis', 'Redis state stores', (url) => {
  // A key prefix per run: suites share one Redis without cleaning it.
  const keyPrefix = `${uniqueId('test')}:`;
  const connect = (): RedisConnection => new RedisConnection({ url, keyPrefix });

  rateLimiterContract(
    'RedisRateLimiter',
    async () => {
      const connection = connect();
      return { limiter: new RedisRateLimiter({ connection }), teardown: () => connection.close() };
    },
    { manualClock: false },
  );

  idempotencyStoreContract('RedisIdempotencyStore', async () => {
    const connection = connect();
    return { store: new RedisIdempotencyStore({ connection }), teardown: () => connection.close() };
  });

  ticketStoreContract('RedisTicketStore', async () => {
    const connection = connect();
    return { store: new RedisTicketStore({ connection }), teardown: () => connection.close() };
  });

  revocationStoreContract('RedisRevocationStore', async () => {
    const connection = connect();
    return { store: new RedisRevocationStore({ connection }), teardown: () => connection.close() };
  });

  describe('on Redis', () => {
    let a: RedisConnection;
    let b: RedisConnection;
    let app: string;
    beforeEach(() => {
      [a, b] = [connect(), connect()];
      app = uniqueId('app');
    });
    afterEach(async () => {
      await Promise.all([a.close(), b.close()]);
    });

    it('shares one bucket between nodes: of 40 requests from two connections on a bucket of 15, 15 pass', async () => {
      const limiters = [new RedisRateLimiter({ connection: a }), new RedisRateLimiter({ connection: b })];
      const limit = { perSecond: 0, burst: 15 };
      const decisions = await Promise.all(
        Array.from({ length: 40 }, (_, i) => limiters[i % 2].consume(app, 'publish', limit)),
      );
      expect(decisions.filter((d) => d.allowed)).toHaveLength(15);
    });

    it('hands a ticket to one of two nodes, and a claim to one of two nodes', async () => {
      const tickets = [new RedisTicketStore({ connection: a }), new RedisTicketStore({ connection: b })];
      await tickets[0].put(app, 't', 'p', 60_000);
      const taken = await Promise.all(Array.from({ length: 20 }, (_, i) => tickets[i % 2].take(app, 't')));
      expect(taken.filter((t) => t === 'p')).toHaveLength(1);
      const stores = [
        new RedisIdempotencyStore({ connection: a }),
        new RedisIdempotencyStore({ connection: b }),
      ];
      const claims = await Promise.all(
        Array.from({ length: 20 }, (_, i) => stores[i % 2].claim(app, 'k', 60_000)),
      );
      expect(claims.filter((c) => c.status === 'claimed')).toHaveLength(1);
    });

    it('keeps every key under the prefix and the app’s hash tag, with a TTL', async () => {
      await new RedisRateLimiter({ connection: a }).consume(app, 'k', { perSecond: 1, burst: 5 });
      await new RedisIdempotencyStore({ connection: a }).claim(app, 'k', 60_000);
      await new RedisTicketStore({ connection: a }).put(app, 'k', 'p', 60_000);
      await new RedisRevocationStore({ connection: a }).revokeToken(app, 'k', 60_000);
      await new RedisRevocationStore({ connection: a }).revokeUser(app, 'k', 1, 60_000);
      const keys = (await a.client.keys(`${keyPrefix}*`)).filter((k) => k.includes(app)).sort();
      expect(keys).toEqual(
        ['idem:k', 'rl:k', 'rv:t:k', 'rv:u:k', 'tk:k'].map((suffix) => `${keyPrefix}{${app}}:${suffix}`),
      );
      for (const key of keys) expect(await a.client.pttl(key)).toBeGreaterThan(0);
    });
  });
});
