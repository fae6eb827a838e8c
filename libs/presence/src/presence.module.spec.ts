import { Test } from '@nestjs/testing';
import { MemoryPresenceRegistry } from './memory/memory.presence-registry.js';
import { PRESENCE_REGISTRY } from './presence-registry.js';
import { PresenceModule } from './presence.module.js';

describe('PresenceModule', () => {
  it('provides the memory driver under PRESENCE_REGISTRY and stops its sweeper on shutdown', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [PresenceModule.forRoot({ driver: 'memory' })],
    }).compile();
    const registry = moduleRef.get<MemoryPresenceRegistry>(PRESENCE_REGISTRY);
    expect(registry).toBeInstanceOf(MemoryPresenceRegistry);
    let closed = false;
    const close = registry.close.bind(registry);
    registry.close = () => {
      closed = true;
      close();
    };
    await moduleRef.close();
    expect(closed).toBe(true);
  });
});
