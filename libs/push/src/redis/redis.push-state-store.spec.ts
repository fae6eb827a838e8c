import { RedisConnection } from '@herald/redis';
import { describeWithService, pushStateStoreContract, uniqueId } from '@herald/testing';
import { RedisPushStateStore } from './redis.push-state-store.js';

describeWithService('redis', 'Redis push state store', (url) => {
  // A key prefix per run: suites share one Redis without cleaning it.
  const keyPrefix = `${uniqueId('test')}:`;
  pushStateStoreContract('RedisPushStateStore', async () => {
    const connection = new RedisConnection({ url, keyPrefix });
    return { store: new RedisPushStateStore(connection), close: () => connection.close() };
  });
});
