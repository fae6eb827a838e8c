import { RedisConnection } from '@herald/redis';
import { describeWithService, nodeDirectoryContract, uniqueId } from '@herald/testing';
import { RedisNodeDirectory } from './redis.node-directory.js';

describeWithService('redis', 'RedisNodeDirectory', (url) => {
  // A key prefix per run: suites share one Redis without cleaning it.
  const keyPrefix = `${uniqueId('test')}:`;
  nodeDirectoryContract('RedisNodeDirectory', async () => {
    const connection = new RedisConnection({ url, keyPrefix });
    return { directory: new RedisNodeDirectory({ connection }), teardown: () => connection.close() };
  });
});
