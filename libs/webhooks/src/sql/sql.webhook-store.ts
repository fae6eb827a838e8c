import type { SqlClient, SqlQueryable } from '@herald/control';
import type { WebhookEvent } from '../events.js';
import type {
  Batch,
  ClaimFairness,
  DeadLetter,
  QueuedEvent,
  WebhookStore,
  WebhookStoreStats,
} from '../webhook-store.js';

/** How long an event id is remembered per endpoint after it was queued (bus re-deliveries). */
export const SQL_DEDUP_WINDOW_MS = 24 * 3_600_000;
const MAX_DEAD_LETTERS_PER_APP = 10_000;
const PRUNE_EVERY_MS = 60_000;

interface CursorRow {
  app_id: string;
  endpoint_id: string;
  batch_id: string | null;
  attempts: number;
  next_attempt_at: string | number;
  last_error: string | null;
}

interface OutboxRow {
  seq: string | number;
  event: WebhookEvent | string;
  queued_at: string | number;
  bytes: number;
}

const json = (v: WebhookEvent | string): WebhookEvent =>
  typeof v === 'string' ? (JSON.parse(v) as WebhookEvent) : v;

/**
 * WebhookStore on the control plane's SQL database (PostgreSQL in a cluster, PGlite embedded):
 * the outbox survives a dispatcher restart and is shared by every dispatcher replica, and the
 * admin API (in the api process) lists and replays the same dead letters. See WebhookStore for
 * the contract; how this driver keeps it:
 * - One row per endpoint (`webhook_outbox_endpoints`) holds the current batch, its attempts and
 *   the lease; `claim` takes due rows with `FOR UPDATE SKIP LOCKED`, so replicas never lease the
 *   same endpoint and never wait on each other.
 * - Events are rows of `webhook_outbox` in `seq` order (FIFO per endpoint); a batch is the rows
 *   marked with its id, formed once and kept until completed or dead-lettered.
 * - Results (`complete`, `retry`, `deadLetter`) count only while the caller still holds the lease
 *   on that batch: a dispatcher that lost its lease (presumed dead) changes nothing.
 * - Dedup: `(endpoint, event id)` pairs are remembered for SQL_DEDUP_WINDOW_MS in
 *   `webhook_outbox_seen`. Times are the dispatchers' clocks, so replicas need NTP-level agreement
 *   (leases are seconds long).
 */
export class SqlWebhookStore implements WebhookStore {
  private lastPrune = 0;

  constructor(private readonly db: SqlClient) {}

  async enqueue(event: QueuedEvent, maxQueued: number): Promise<'queued' | 'duplicate' | 'overflow'> {
    return this.db.transaction(async (tx) => {
      const fresh = await tx.query<{ event_id: string }>(
        `INSERT INTO webhook_outbox_seen (app_id, endpoint_id, event_id, seen_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING event_id`,
        [event.appId, event.endpointId, event.event.id, event.queuedAt],
      );
      if (fresh.length === 0) return 'duplicate';
      const queued = await tx.query<{ n: string | number }>(
        'SELECT COUNT(*) AS n FROM webhook_outbox WHERE app_id = $1 AND endpoint_id = $2 AND batch_id IS NULL',
        [event.appId, event.endpointId],
      );
      if (Number(queued[0]?.n ?? 0) >= maxQueued) {
        await this.insertDead(tx, event.appId, event.endpointId, [event.event], {
          reason: 'overflow',
          attempts: 0,
          deadAt: event.queuedAt,
        });
        return 'overflow';
      }
      await this.insertQueued(tx, event);
      return 'queued';
    });
  }

  private async insertQueued(tx: SqlQueryable, e: QueuedEvent): Promise<void> {
    await tx.query(
      'INSERT INTO webhook_outbox_endpoints (app_id, endpoint_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [e.appId, e.endpointId],
    );
    await tx.query(
      `INSERT INTO webhook_outbox (app_id, endpoint_id, event_id, event, queued_at, bytes)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [e.appId, e.endpointId, e.event.id, JSON.stringify(e.event), e.queuedAt, e.bytes],
    );
  }

  async claim(
    owner: string,
    now: number,
    leaseMs: number,
    limit: number,
    batching: { maxEvents: number; maxBytes: number; newId: () => string },
    fairness?: ClaimFairness,
  ): Promise<Batch[]> {
    if (limit <= 0) return [];
    await this.prune(now);
    const due = `c.lease_until <= $1
            AND ((c.batch_id IS NOT NULL AND c.next_attempt_at <= $1)
              OR (c.batch_id IS NULL AND EXISTS (
                    SELECT 1 FROM webhook_outbox o WHERE o.app_id = c.app_id AND o.endpoint_id = c.endpoint_id)))`;
    const order = 'CASE WHEN c.batch_id IS NULL THEN 0 ELSE c.next_attempt_at END, c.app_id, c.endpoint_id';
    return this.db.transaction(async (tx) => {
      const rows = fairness
        ? // Rank each due endpoint within its app, keep the app's share ($3 minus its deliveries in
          // flight, $4 as JSON), rank 0 of every app first. Rows locked by another replica still
          // count in the ranking: a replica may take fewer than the share, never more.
          await tx.query<CursorRow>(
            `SELECT c.app_id, c.endpoint_id, c.batch_id, c.attempts, c.next_attempt_at, c.last_error
               FROM webhook_outbox_endpoints c
               JOIN (SELECT c.app_id, c.endpoint_id,
                            ROW_NUMBER() OVER (PARTITION BY c.app_id ORDER BY ${order}) - 1 AS rank
                       FROM webhook_outbox_endpoints c
                      WHERE ${due}) r ON r.app_id = c.app_id AND r.endpoint_id = c.endpoint_id
              WHERE ${due}
                AND r.rank < $3 - COALESCE(($4::jsonb ->> c.app_id)::int, 0)
              ORDER BY r.rank, ${order}
              LIMIT $2
              FOR UPDATE OF c SKIP LOCKED`,
            [now, limit, fairness.perApp, JSON.stringify(Object.fromEntries(fairness.inflight))],
          )
        : await tx.query<CursorRow>(
            `SELECT app_id, endpoint_id, batch_id, attempts, next_attempt_at, last_error
               FROM webhook_outbox_endpoints c
              WHERE ${due}
              ORDER BY ${order}
              LIMIT $2
              FOR UPDATE SKIP LOCKED`,
            [now, limit],
          );
      const out: Batch[] = [];
      for (const c of rows) {
        let batchId = c.batch_id;
        let attempts = Number(c.attempts);
        let nextAttemptAt = Number(c.next_attempt_at);
        let lastError = c.last_error ?? undefined;
        if (batchId === null) {
          const head = await tx.query<OutboxRow & { seq: string | number }>(
            `SELECT seq, bytes FROM webhook_outbox WHERE app_id = $1 AND endpoint_id = $2 AND batch_id IS NULL
              ORDER BY seq LIMIT $3`,
            [c.app_id, c.endpoint_id, batching.maxEvents],
          );
          const take: string[] = [];
          let bytes = 0;
          for (const r of head) {
            if (take.length > 0 && bytes + Number(r.bytes) > batching.maxBytes) break;
            take.push(String(r.seq));
            bytes += Number(r.bytes);
          }
          if (take.length === 0) continue;
          batchId = batching.newId();
          await tx.query('UPDATE webhook_outbox SET batch_id = $1 WHERE seq = ANY($2::bigint[])', [
            batchId,
            take,
          ]);
          attempts = 0;
          nextAttemptAt = now;
          lastError = undefined;
        }
        await tx.query(
          `UPDATE webhook_outbox_endpoints
              SET batch_id = $3, attempts = $4, next_attempt_at = $5, last_error = $6, lease_owner = $7, lease_until = $8
            WHERE app_id = $1 AND endpoint_id = $2`,
          [
            c.app_id,
            c.endpoint_id,
            batchId,
            attempts,
            nextAttemptAt,
            lastError ?? null,
            owner,
            now + leaseMs,
          ],
        );
        const rows = await tx.query<OutboxRow>(
          'SELECT seq, event, queued_at, bytes FROM webhook_outbox WHERE batch_id = $1 ORDER BY seq',
          [batchId],
        );
        out.push({
          id: batchId,
          appId: c.app_id,
          endpointId: c.endpoint_id,
          events: rows.map((r) => ({
            appId: c.app_id,
            endpointId: c.endpoint_id,
            event: json(r.event),
            queuedAt: Number(r.queued_at),
            bytes: Number(r.bytes),
          })),
          attempts,
          nextAttemptAt,
          ...(lastError !== undefined ? { lastError } : {}),
        });
      }
      return out;
    });
  }

  /** Locks the endpoint row if `owner` still leases `batch`; false when the lease was lost. */
  private async owned(tx: SqlQueryable, batch: Batch, owner: string): Promise<boolean> {
    const rows = await tx.query<{ batch_id: string }>(
      `SELECT batch_id FROM webhook_outbox_endpoints
        WHERE app_id = $1 AND endpoint_id = $2 AND lease_owner = $3 AND batch_id = $4 FOR UPDATE`,
      [batch.appId, batch.endpointId, owner, batch.id],
    );
    return rows.length === 1;
  }

  async complete(batch: Batch, owner: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (!(await this.owned(tx, batch, owner))) return;
      await tx.query('DELETE FROM webhook_outbox WHERE batch_id = $1', [batch.id]);
      await this.release(tx, batch, { clearBatch: true });
    });
  }

  async retry(batch: Batch, owner: string, nextAttemptAt: number, error: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (!(await this.owned(tx, batch, owner))) return;
      await tx.query(
        `UPDATE webhook_outbox_endpoints SET attempts = $3, next_attempt_at = $4, last_error = $5,
                lease_owner = NULL, lease_until = 0
          WHERE app_id = $1 AND endpoint_id = $2`,
        [batch.appId, batch.endpointId, batch.attempts, nextAttemptAt, error],
      );
    });
  }

  async deadLetter(
    batch: Batch,
    owner: string,
    reason: string,
    now: number,
    wholeEndpoint = false,
  ): Promise<DeadLetter[]> {
    return this.db.transaction(async (tx) => {
      if (!(await this.owned(tx, batch, owner))) return [];
      const rows = await tx.query<OutboxRow>(
        wholeEndpoint
          ? `SELECT seq, event FROM webhook_outbox WHERE app_id = $1 AND endpoint_id = $2
              ORDER BY (batch_id IS DISTINCT FROM $3), seq`
          : `SELECT seq, event FROM webhook_outbox WHERE app_id = $1 AND endpoint_id = $2 AND batch_id = $3
              ORDER BY seq`,
        [batch.appId, batch.endpointId, batch.id],
      );
      const how = {
        reason,
        attempts: batch.attempts,
        deadAt: now,
        ...(batch.lastError ? { lastError: batch.lastError } : {}),
      };
      const events = rows.map((r) => json(r.event));
      await this.insertDead(tx, batch.appId, batch.endpointId, events, how);
      await tx.query('DELETE FROM webhook_outbox WHERE seq = ANY($1::bigint[])', [
        rows.map((r) => String(r.seq)),
      ]);
      await this.release(tx, batch, { clearBatch: true });
      return events.map((event) => ({ appId: batch.appId, endpointId: batch.endpointId, event, ...how }));
    });
  }

  private async release(tx: SqlQueryable, batch: Batch, o: { clearBatch: boolean }): Promise<void> {
    await tx.query(
      `UPDATE webhook_outbox_endpoints
          SET lease_owner = NULL, lease_until = 0${o.clearBatch ? ', batch_id = NULL, attempts = 0, next_attempt_at = 0, last_error = NULL' : ''}
        WHERE app_id = $1 AND endpoint_id = $2`,
      [batch.appId, batch.endpointId],
    );
  }

  private async insertDead(
    tx: SqlQueryable,
    appId: string,
    endpointId: string,
    events: readonly WebhookEvent[],
    d: { reason: string; attempts: number; deadAt: number; lastError?: string },
  ): Promise<void> {
    if (events.length === 0) return;
    for (const e of events) {
      await tx.query(
        `INSERT INTO webhook_dead_letters (app_id, endpoint_id, event_id, event, reason, attempts, dead_at, last_error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [appId, endpointId, e.id, JSON.stringify(e), d.reason, d.attempts, d.deadAt, d.lastError ?? null],
      );
    }
    // Bounded per app, as the memory driver: the oldest go first.
    await tx.query(
      `DELETE FROM webhook_dead_letters WHERE app_id = $1 AND seq <= (
         SELECT seq FROM webhook_dead_letters WHERE app_id = $1 ORDER BY seq DESC OFFSET $2 LIMIT 1)`,
      [appId, MAX_DEAD_LETTERS_PER_APP],
    );
  }

  async nextDueAt(now: number): Promise<number | undefined> {
    const rows = await this.db.query<{ t: string | number | null }>(
      `SELECT MIN(GREATEST(c.lease_until, CASE WHEN c.batch_id IS NOT NULL THEN c.next_attempt_at ELSE $1 END)) AS t
         FROM webhook_outbox_endpoints c
        WHERE c.batch_id IS NOT NULL
           OR EXISTS (SELECT 1 FROM webhook_outbox o WHERE o.app_id = c.app_id AND o.endpoint_id = c.endpoint_id)`,
      [now],
    );
    const t = rows[0]?.t;
    return t === null || t === undefined ? undefined : Number(t);
  }

  async listDeadLetters(appId: string, limit: number): Promise<DeadLetter[]> {
    const rows = await this.db.query<{
      endpoint_id: string;
      event: WebhookEvent | string;
      reason: string;
      attempts: number;
      dead_at: string | number;
      last_error: string | null;
    }>(
      `SELECT endpoint_id, event, reason, attempts, dead_at, last_error FROM webhook_dead_letters
        WHERE app_id = $1 ORDER BY seq DESC LIMIT $2`,
      [appId, limit],
    );
    return rows.map((r) => ({
      appId,
      endpointId: r.endpoint_id,
      event: json(r.event),
      reason: r.reason,
      attempts: Number(r.attempts),
      deadAt: Number(r.dead_at),
      ...(r.last_error !== null ? { lastError: r.last_error } : {}),
    }));
  }

  async replay(appId: string, now: number, eventIds?: readonly string[]): Promise<number> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<{
        seq: string | number;
        endpoint_id: string;
        event: WebhookEvent | string;
      }>(
        eventIds
          ? `SELECT seq, endpoint_id, event FROM webhook_dead_letters
              WHERE app_id = $1 AND event_id = ANY($2::text[]) ORDER BY seq FOR UPDATE`
          : 'SELECT seq, endpoint_id, event FROM webhook_dead_letters WHERE app_id = $1 ORDER BY seq FOR UPDATE',
        eventIds ? [appId, [...eventIds]] : [appId],
      );
      for (const r of rows) {
        const event = json(r.event);
        await this.insertQueued(tx, {
          appId,
          endpointId: r.endpoint_id,
          event,
          queuedAt: now,
          bytes: Buffer.byteLength(JSON.stringify(event)),
        });
      }
      await tx.query('DELETE FROM webhook_dead_letters WHERE seq = ANY($1::bigint[])', [
        rows.map((r) => String(r.seq)),
      ]);
      return rows.length;
    });
  }

  async disableEndpoint(appId: string, endpointId: string): Promise<void> {
    await this.db.query(
      `INSERT INTO webhook_outbox_endpoints (app_id, endpoint_id, disabled) VALUES ($1, $2, true)
       ON CONFLICT (app_id, endpoint_id) DO UPDATE SET disabled = true`,
      [appId, endpointId],
    );
  }

  async enableEndpoint(appId: string, endpointId: string): Promise<void> {
    await this.db.query(
      'UPDATE webhook_outbox_endpoints SET disabled = false WHERE app_id = $1 AND endpoint_id = $2',
      [appId, endpointId],
    );
  }

  async isDisabled(appId: string, endpointId: string): Promise<boolean> {
    const rows = await this.db.query<{ disabled: boolean }>(
      'SELECT disabled FROM webhook_outbox_endpoints WHERE app_id = $1 AND endpoint_id = $2',
      [appId, endpointId],
    );
    return rows[0]?.disabled === true;
  }

  async stats(): Promise<WebhookStoreStats> {
    const [q] = await this.db.query<{ pending: string | number; oldest: string | number | null }>(
      'SELECT COUNT(*) AS pending, MIN(queued_at) AS oldest FROM webhook_outbox',
    );
    const [r] = await this.db.query<{ n: string | number }>(
      'SELECT COUNT(*) AS n FROM webhook_outbox_endpoints WHERE batch_id IS NOT NULL AND attempts > 0',
    );
    const [d] = await this.db.query<{ n: string | number }>('SELECT COUNT(*) AS n FROM webhook_dead_letters');
    return {
      pending: Number(q?.pending ?? 0),
      retrying: Number(r?.n ?? 0),
      deadLetters: Number(d?.n ?? 0),
      ...(q?.oldest !== null && q?.oldest !== undefined ? { oldestPendingAt: Number(q.oldest) } : {}),
    };
  }

  /** Forgets dedup ids past the window and endpoint rows with nothing left (at most once a minute). */
  private async prune(now: number): Promise<void> {
    if (now - this.lastPrune < PRUNE_EVERY_MS && now >= this.lastPrune) return;
    this.lastPrune = now;
    await this.db.query('DELETE FROM webhook_outbox_seen WHERE seen_at < $1', [now - SQL_DEDUP_WINDOW_MS]);
  }
}
