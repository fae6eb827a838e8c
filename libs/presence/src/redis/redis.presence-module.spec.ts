import { Test } from '@nestjs/testing';
import { describeWithService, uniqueId } from '@herald/testing';
import { PRESENCE_REGISTRY, type PresenceRegistry } from '../presence-registry.js';
import { PresenceModule } from '../presence.module.js';
import { RedisPresenceRegistry } from './redis.presence-registry.js';

describeWithService('redis', 'PresenceModule with the redis driver', (url) => {
  it('provides RedisPresenceRegistry and closes its connection on shutdown', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        PresenceModule.forRoot({ driver: 'redis', redis: { url, keyPrefix: `${uniqueId('test')}:` } }),
      ],
    }).compile();
    const registry = moduleRef.get<PresenceRegistry>(PRESENCE_REGISTRY);
    expect(registry).toBeInstanceOf(RedisPresenceRegistry);
    await registry.addConnection('app', { client: 'c1', user: 'u1', node: 'n' }, 60_000);
    expect(await registry.isUserOnline('app', 'u1')).toBe(true);
    await moduleRef.close();
    await expect(registry.isUserOnline('app', 'u1')).rejects.toThrow(/redis unavailable/);
  });
});

it('refuses the redis driver without redis options', () => {
  expect(() => PresenceModule.forRoot({ driver: 'redis' })).toThrow(/needs the redis options/);
});
