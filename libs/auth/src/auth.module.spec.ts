import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { appConfigSchema } from '@herald/config';
import { MemoryRevocationStore, MemoryTicketStore, REVOCATION_STORE, TICKET_STORE } from '@herald/state';
import { AuthModule } from './auth.module.js';
import { signConnectionToken } from './dev-token.js';
import { TicketService } from './tickets.js';
import { TokenVerifier } from './token-verifier.js';

const revocations = new MemoryRevocationStore();
const ticketStore = new MemoryTicketStore();
afterAll(() => {
  revocations.close();
  ticketStore.close();
});

@Module({
  providers: [
    { provide: REVOCATION_STORE, useValue: revocations },
    { provide: TICKET_STORE, useValue: ticketStore },
  ],
  exports: [REVOCATION_STORE, TICKET_STORE],
})
class FakeStateModule {}

const app = appConfigSchema.parse({
  id: 'acme',
  keys: ['acme-key-1'],
  secrets: ['Zq8vN3kP7wR2tY6uB1mC4xL9hJ5gF0dS'],
});

describe('AuthModule', () => {
  it.each([
    ['AuthModule', AuthModule],
    ['AuthModule.forRoot()', AuthModule.forRoot({ leewaySeconds: 2 })],
  ])('%s provides TokenVerifier and TicketService', async (_name, auth) => {
    const moduleRef = await Test.createTestingModule({
      imports: [{ module: FakeStateModule, global: true }, auth],
    }).compile();
    const verifier = moduleRef.get(TokenVerifier);
    const token = signConnectionToken(app, { sub: 'u1' }, { expiresInSeconds: 60 });
    expect((await verifier.verifyConnectionToken(app, token)).sub).toBe('u1');
    const tickets = moduleRef.get(TicketService);
    const { ticket } = await tickets.mint('acme', { user: 'u1', ttlSeconds: 60 });
    expect((await tickets.redeem('acme', ticket)).sub).toBe('u1');
    await moduleRef.close();
  });
});
