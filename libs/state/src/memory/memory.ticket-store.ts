import type { OnModuleDestroy } from '@nestjs/common';
import type { TicketStore } from '../ticket-store.js';
import { DEFAULT_SWEEP_INTERVAL_MS, type MemoryStoreOptions, startSweeper, TtlMap } from './ttl-map.js';

/** TicketStore in process memory (see the port for the guarantees). */
export class MemoryTicketStore implements TicketStore, OnModuleDestroy {
  private readonly tickets: TtlMap<string>;
  private readonly stopSweeper: () => void;

  constructor(options: MemoryStoreOptions = {}) {
    this.tickets = new TtlMap(options.now ?? Date.now);
    this.stopSweeper = startSweeper(() => this.sweep(), options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS);
  }

  async put(appId: string, ticket: string, payload: string, ttlMs: number): Promise<void> {
    this.tickets.set(appId, ticket, payload, ttlMs);
  }

  async take(appId: string, ticket: string): Promise<string | undefined> {
    // Get and delete in one synchronous step: no other caller can interleave.
    const payload = this.tickets.get(appId, ticket);
    if (payload !== undefined) this.tickets.delete(appId, ticket);
    return payload;
  }

  sweep(): void {
    this.tickets.sweep();
  }

  /** Tickets held, expired or not yet swept. */
  get size(): number {
    return this.tickets.size;
  }

  close(): void {
    this.stopSweeper();
  }

  onModuleDestroy(): void {
    this.close();
  }
}
