import { RedisConnection } from '@herald/redis';
import { describeWithService, occupancyCounterContract, uniqueId } from '@herald/testing';
import { RedisOccupancyCounter } from './redis.occupancy-counter.js';

describeWithService('redis', 'RedisOccupancyCounter', (url) => {
  const keyPrefix = `${uniqueId('test')}:`;
  occupancyCounterContract('RedisOccupancyCounter', () => {
    // Each `another` is a gateway of its own: its own connection to the same Redis.
    const connections = [new RedisConnection({ url, keyPrefix })];
    return Promise.resolve({
      counter: new RedisOccupancyCounter(connections[0]),
      another: () => {
        const c = new RedisConnection({ url, keyPrefix });
        connections.push(c);
        return Promise.resolve(new RedisOccupancyCounter(c));
      },
      teardown: async () => {
        await Promise.all(connections.map((c) => c.close()));
      },
    });
  });
});
