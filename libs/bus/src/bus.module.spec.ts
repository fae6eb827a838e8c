import { Test } from '@nestjs/testing';
import { BUS, type Bus } from './bus.js';
import { BusModule } from './bus.module.js';
import { MemoryBus } from './memory/memory.bus.js';

describe('BusModule', () => {
  it('provides the memory driver under BUS and closes it on shutdown', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [BusModule.forRoot({ driver: 'memory' })],
    }).compile();
    const bus = moduleRef.get<Bus>(BUS);
    expect(bus).toBeInstanceOf(MemoryBus);
    await moduleRef.close();
    await expect(bus.publish('t', 'k', Buffer.from('x'))).rejects.toThrow('closed');
  });
});
