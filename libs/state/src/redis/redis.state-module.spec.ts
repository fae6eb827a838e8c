import { Test } from '@nestjs/testing';
import { describeWithService, uniqueId } from '@herald/testing';
import { IDEMPOTENCY_STORE } from '../idempotency-store.js';
import { RATE_LIMITER } from '../rate-limiter.js';
import { REVOCATION_STORE } from '../revocation-store.js';
import { StateModule } from '../state.module.js';
import { TICKET_STORE } from '../ticket-store.js';
import { RedisIdempotencyStore } from './redis.idempotency-store.js';
import { RedisRateLimiter } from './redis.rate-limiter.js';
import { RedisRevocationStore } from './redis.revocation-store.js';
import { RedisTicketStore } from './redis.ticket-store.js';

describeWithService('redis', 'StateModule with the redis driver', (url) => {
  it('provides the Redis stores on one shared connection and closes it on shutdown', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [StateModule.forRoot({ driver: 'redis', redis: { url, keyPrefix: `${uniqueId('test')}:` } })],
    }).compile();
    expect(moduleRef.get(RATE_LIMITER)).toBeInstanceOf(RedisRateLimiter);
    expect(moduleRef.get(IDEMPOTENCY_STORE)).toBeInstanceOf(RedisIdempotencyStore);
    expect(moduleRef.get(TICKET_STORE)).toBeInstanceOf(RedisTicketStore);
    const revocations = moduleRef.get<RedisRevocationStore>(REVOCATION_STORE);
    expect(revocations).toBeInstanceOf(RedisRevocationStore);
    await revocations.revokeToken('app', 'jti', 60_000);
    expect(await revocations.isTokenRevoked('app', 'jti')).toBe(true);
    await moduleRef.close();
    await expect(revocations.isTokenRevoked('app', 'jti')).rejects.toThrow(/redis unavailable/);
  });
});

it('refuses the redis driver without redis options', () => {
  expect(() => StateModule.forRoot({ driver: 'redis' })).toThrow(/needs the redis options/);
});
