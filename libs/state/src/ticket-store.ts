/**
 * TicketStore: single-use, short-lived connection tickets.
 * Guarantees (libs/testing `ticketStoreContract`): `take` returns the payload at most once across
 * all callers (atomic get-and-delete) and never after `ttlMs`; tickets of one app are invisible to
 * another.
 */
export interface TicketStore {
  put(appId: string, ticket: string, payload: string, ttlMs: number): Promise<void>;
  take(appId: string, ticket: string): Promise<string | undefined>;
}

export const TICKET_STORE = Symbol('TicketStore');
