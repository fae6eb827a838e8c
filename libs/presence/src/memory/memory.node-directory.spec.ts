import { ManualClock, nodeDirectoryContract } from '@herald/testing';
import { MemoryNodeDirectory } from './memory.node-directory.js';

nodeDirectoryContract('MemoryNodeDirectory', async () => {
  const clock = new ManualClock();
  return { directory: new MemoryNodeDirectory({ now: clock.now }), clock, teardown: async () => undefined };
});
