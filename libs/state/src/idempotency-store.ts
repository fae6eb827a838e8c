/**
 * IdempotencyStore: remembers the result of a request by (app, key) for a window, so a retried
 * publish returns the first result and delivers nothing twice (DESIGN.md).
 *
 * Guarantees (libs/testing `idempotencyStoreContract`):
 * - `claim` is atomic: of concurrent claims of one (app, key), exactly one gets `claimed`; the
 *   others get `pending` until it completes, then `done` with the stored result.
 * - A claim not completed or released within `ttlMs` lapses (the claimer died), and the key can be
 *   claimed again. A completed result is kept `ttlMs` after `complete`. `complete` may be called
 *   again for the same key: the last result replaces the earlier one (PublishService stores a
 *   checkpoint first, then the final result).
 * - `release` drops a claim (the request failed) so a retry can claim again; it leaves a completed
 *   result in place (a late release must not reopen a key whose request succeeded).
 */
export type ClaimResult = { status: 'claimed' } | { status: 'pending' } | { status: 'done'; result: string };

export interface IdempotencyStore {
  claim(appId: string, key: string, ttlMs: number): Promise<ClaimResult>;
  complete(appId: string, key: string, result: string, ttlMs: number): Promise<void>;
  release(appId: string, key: string): Promise<void>;
}

export const IDEMPOTENCY_STORE = Symbol('IdempotencyStore');
