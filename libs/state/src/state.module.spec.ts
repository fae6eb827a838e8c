import { Test } from '@nestjs/testing';
import { IDEMPOTENCY_STORE } from './idempotency-store.js';
import { MemoryIdempotencyStore } from './memory/memory.idempotency-store.js';
import { MemoryRateLimiter } from './memory/memory.rate-limiter.js';
import { MemoryRevocationStore } from './memory/memory.revocation-store.js';
import { MemoryTicketStore } from './memory/memory.ticket-store.js';
import { RATE_LIMITER } from './rate-limiter.js';
import { REVOCATION_STORE } from './revocation-store.js';
import { StateModule } from './state.module.js';
import { TICKET_STORE } from './ticket-store.js';

describe('StateModule', () => {
  it('provides the memory drivers under their tokens and stops their timers on shutdown', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [StateModule.forRoot({ driver: 'memory' })],
    }).compile();
    expect(moduleRef.get(RATE_LIMITER)).toBeInstanceOf(MemoryRateLimiter);
    expect(moduleRef.get(IDEMPOTENCY_STORE)).toBeInstanceOf(MemoryIdempotencyStore);
    expect(moduleRef.get(TICKET_STORE)).toBeInstanceOf(MemoryTicketStore);
    expect(moduleRef.get(REVOCATION_STORE)).toBeInstanceOf(MemoryRevocationStore);
    const closed: string[] = [];
    for (const token of [RATE_LIMITER, IDEMPOTENCY_STORE, TICKET_STORE, REVOCATION_STORE]) {
      const store = moduleRef.get<{ close(): void }>(token);
      const close = store.close.bind(store);
      store.close = () => {
        closed.push(String(token));
        close();
      };
    }
    await moduleRef.close();
    expect(closed).toHaveLength(4);
  });
});
