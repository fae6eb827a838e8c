import { Test } from '@nestjs/testing';
import { HISTORY_STORE } from './history-store.js';
import { HistoryModule } from './history.module.js';
import { MemoryHistoryStore } from './memory/memory.history-store.js';

describe('HistoryModule', () => {
  it('provides the memory driver under HISTORY_STORE and stops its sweeper on shutdown', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [HistoryModule.forRoot({ driver: 'memory' })],
    }).compile();
    const store = moduleRef.get<MemoryHistoryStore>(HISTORY_STORE);
    expect(store).toBeInstanceOf(MemoryHistoryStore);
    let closed = false;
    const close = store.close.bind(store);
    store.close = () => {
      closed = true;
      close();
    };
    await moduleRef.close();
    expect(closed).toBe(true);
  });
});
