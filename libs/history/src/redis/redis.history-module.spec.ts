import { Test } from '@nestjs/testing';
import { describeWithService, uniqueId } from '@herald/testing';
import { HISTORY_STORE, type HistoryStore } from '../history-store.js';
import { HistoryModule } from '../history.module.js';
import { RedisHistoryStore } from './redis.history-store.js';

describeWithService('redis', 'HistoryModule with the redis driver', (url) => {
  it('provides RedisHistoryStore and closes its connection on shutdown', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        HistoryModule.forRoot({ driver: 'redis', redis: { url, keyPrefix: `${uniqueId('test')}:` } }),
      ],
    }).compile();
    const store = moduleRef.get<HistoryStore>(HISTORY_STORE);
    expect(store).toBeInstanceOf(RedisHistoryStore);
    expect((await store.append('app', 'ch', 'v', { size: 1, ttlMs: 60_000 })).offset).toBe(1);
    await moduleRef.close();
    await expect(store.position('app', 'ch')).rejects.toThrow(/redis unavailable/);
  });
});

it('refuses the redis driver without redis options', () => {
  expect(() => HistoryModule.forRoot({ driver: 'redis' })).toThrow(/needs the redis options/);
});
