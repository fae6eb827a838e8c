import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { ErrorCode, HeraldError, isValidUserId, parseChannel } from '@herald/protocol';
import { TICKET_STORE, type TicketStore } from '@herald/state';
import type { ConnectionClaims } from './token-verifier.js';

export interface MintTicketInput {
  user: string;
  info?: unknown;
  channels?: string[];
  ttlSeconds: number;
}

export interface MintedTicket {
  /** 32 random bytes, base64url (43 characters). */
  ticket: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

/** Milliseconds since the epoch; injected in tests. */
export const TICKET_CLOCK = Symbol('TicketClock');

/** Tickets live at most this long whatever the caller asks: they stand in for a token at connect. */
export const MAX_TICKET_TTL_SECONDS = 3600;

interface StoredTicket {
  user: string;
  exp: number;
  info?: unknown;
  channels?: string[];
}

/**
 * Single-use connection tickets, minted by a tenant backend through the REST API and redeemed once
 * at connect (for clients that cannot hold a JWT, or to keep tokens out of URLs). Redeeming yields
 * the same ConnectionClaims as a token, so the session treats both alike. Single use and expiry are
 * guaranteed by TicketStore; expiry is checked here too against the injected clock.
 */
@Injectable()
export class TicketService {
  private readonly now: () => number;

  constructor(
    @Inject(TICKET_STORE) private readonly store: TicketStore,
    @Optional() @Inject(TICKET_CLOCK) now?: () => number,
  ) {
    this.now = now ?? Date.now;
  }

  async mint(appId: string, input: MintTicketInput): Promise<MintedTicket> {
    if (!isValidUserId(input.user)) {
      throw new HeraldError(ErrorCode.BAD_REQUEST, 'user must be a valid, non-empty user id');
    }
    if (
      !Number.isInteger(input.ttlSeconds) ||
      input.ttlSeconds <= 0 ||
      input.ttlSeconds > MAX_TICKET_TTL_SECONDS
    ) {
      throw new HeraldError(
        ErrorCode.BAD_REQUEST,
        `ttlSeconds must be an integer in 1..${MAX_TICKET_TTL_SECONDS}`,
      );
    }
    if (input.channels !== undefined && !input.channels.every((c) => parseChannel(c) !== undefined)) {
      throw new HeraldError(ErrorCode.BAD_REQUEST, 'channels must be valid channel names');
    }
    const ticket = randomBytes(32).toString('base64url');
    const expiresAt = Math.floor(this.now() / 1000) + input.ttlSeconds;
    const stored: StoredTicket = { user: input.user, exp: expiresAt };
    if (input.info !== undefined) stored.info = input.info;
    if (input.channels !== undefined) stored.channels = input.channels;
    await this.store.put(appId, ticket, JSON.stringify(stored), input.ttlSeconds * 1000);
    return { ticket, expiresAt };
  }

  /** Consumes the ticket: a second redeem of the same ticket fails, as does another app's ticket. */
  async redeem(appId: string, ticket: string): Promise<ConnectionClaims> {
    if (typeof ticket !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(ticket)) {
      throw new HeraldError(ErrorCode.TICKET_INVALID);
    }
    const raw = await this.store.take(appId, ticket);
    if (raw === undefined) throw new HeraldError(ErrorCode.TICKET_INVALID);
    const stored = JSON.parse(raw) as StoredTicket;
    if (this.now() / 1000 >= stored.exp) throw new HeraldError(ErrorCode.TICKET_INVALID);
    const claims: ConnectionClaims = { sub: stored.user, exp: stored.exp };
    if (stored.info !== undefined) claims.info = stored.info;
    if (stored.channels !== undefined) claims.channels = stored.channels;
    return claims;
  }
}
