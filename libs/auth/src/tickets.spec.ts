import { ErrorCode, HeraldError, type ErrorDef } from '@herald/protocol';
import { MemoryTicketStore } from '@herald/state';
import { TicketService } from './tickets.js';

let clockMs = 1_700_000_000_000;
const store = new MemoryTicketStore({ now: () => clockMs });
const tickets = new TicketService(store, () => clockMs);
afterAll(() => store.close());

async function code(p: Promise<unknown>): Promise<ErrorDef> {
  try {
    await p;
  } catch (err) {
    if (err instanceof HeraldError) return err.def;
    throw err;
  }
  throw new Error('expected a HeraldError');
}

describe('TicketService', () => {
  it('mints a 32-byte base64url ticket and redeems it once into connection claims', async () => {
    const { ticket, expiresAt } = await tickets.mint('acme', {
      user: 'u1',
      info: { name: 'Ann' },
      channels: ['news'],
      ttlSeconds: 60,
    });
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(ticket, 'base64url')).toHaveLength(32);
    expect(expiresAt).toBe(1_700_000_060);
    expect(await tickets.redeem('acme', ticket)).toEqual({
      sub: 'u1',
      exp: 1_700_000_060,
      info: { name: 'Ann' },
      channels: ['news'],
    });
    expect(await code(tickets.redeem('acme', ticket))).toBe(ErrorCode.TICKET_INVALID);
  });

  it('mints distinct tickets', async () => {
    const a = await tickets.mint('acme', { user: 'u1', ttlSeconds: 60 });
    const b = await tickets.mint('acme', { user: 'u1', ttlSeconds: 60 });
    expect(a.ticket).not.toBe(b.ticket);
  });

  it('expires tickets by the injected clock', async () => {
    const { ticket } = await tickets.mint('acme', { user: 'u1', ttlSeconds: 10 });
    clockMs += 10_000;
    expect(await code(tickets.redeem('acme', ticket))).toBe(ErrorCode.TICKET_INVALID);
  });

  it('is redeemable just before expiry', async () => {
    const { ticket } = await tickets.mint('acme', { user: 'u1', ttlSeconds: 10 });
    clockMs += 9_999;
    expect((await tickets.redeem('acme', ticket)).sub).toBe('u1');
  });

  it("does not redeem another app's ticket (and does not consume it)", async () => {
    const { ticket } = await tickets.mint('acme', { user: 'u1', ttlSeconds: 60 });
    expect(await code(tickets.redeem('other', ticket))).toBe(ErrorCode.TICKET_INVALID);
    expect((await tickets.redeem('acme', ticket)).sub).toBe('u1');
  });

  it('refuses unknown and malformed tickets', async () => {
    expect(await code(tickets.redeem('acme', 'A'.repeat(43)))).toBe(ErrorCode.TICKET_INVALID);
    expect(await code(tickets.redeem('acme', 'short'))).toBe(ErrorCode.TICKET_INVALID);
    expect(await code(tickets.redeem('acme', ''))).toBe(ErrorCode.TICKET_INVALID);
  });

  it.each([
    ['empty user', { user: '', ttlSeconds: 60 }],
    ['invalid user', { user: 'a b', ttlSeconds: 60 }],
    ['zero ttl', { user: 'u1', ttlSeconds: 0 }],
    ['fractional ttl', { user: 'u1', ttlSeconds: 1.5 }],
    ['ttl over an hour', { user: 'u1', ttlSeconds: 3601 }],
    ['invalid channel', { user: 'u1', ttlSeconds: 60, channels: ['bad channel'] }],
  ])('refuses to mint: %s', async (_name, input) => {
    expect(await code(tickets.mint('acme', input))).toBe(ErrorCode.BAD_REQUEST);
  });
});
