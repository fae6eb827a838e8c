/**
 * PushStateStore: the small shared state of push dispatch, in the state store (memory on one node,
 * Redis in a cluster), so every dispatcher and gateway sees the same answers.
 *
 * Acknowledgements (`ack`, `isAcked`): a live connection of `user` acknowledged message `id`; kept
 * for `ttlMs`. The core records them, the dispatcher reads them for the `unacked` policy.
 *
 * Per-(message, device) send records, the guarantee that a push is not sent twice:
 * - `begin` claims the pair for `leaseMs` and answers `claimed`; `sent` if the pair was already
 *   pushed; `busy` if another dispatcher holds an unexpired claim (it is sending right now). Atomic:
 *   of concurrent `begin`s exactly one is `claimed`.
 * - `markSent` records the push as done for `ttlMs` (a redelivered job within it sends nothing).
 * - `release` drops a claim after a failed attempt, so a retry may claim it again.
 * A dispatcher killed between a provider's 200 and `markSent` leaves a claim that expires after
 * `leaseMs`; that one pair may then be pushed again: the only duplicate window, one request wide.
 *
 * Parked jobs (`park`, `claimDue`, `unpark`, `listParked`), so a Bus handler never waits for a
 * future time (a retry's backoff or Retry-After, an `unacked` delay): the job is parked with its due
 * time and the record is committed; the dispatchers' schedulers move due jobs back onto the Bus.
 * - `park` stores `job` (opaque text) under `id` due at `dueAt` (epoch ms); parking an id again
 *   replaces it (a redelivered record parks the same id once).
 * - `claimDue(now, limit, leaseMs)` claims up to `limit` jobs of any app with `dueAt <= now` (apps with
 *   the earliest due job first, each app's jobs in due order), and moves each one's due time to `now + leaseMs`. Atomic: of concurrent calls (several
 *   dispatcher replicas) each due job is claimed by exactly one. A claimer that dies before `unpark`
 *   leaves the job due again after `leaseMs` (handed out at least once; send records keep a device
 *   from being pushed twice).
 * - `unpark(appId, id, lease)` removes a claimed job, only while it still carries that claim's due
 *   time `lease` (a job parked again under the same id meanwhile stays).
 * - `listParked(appId, limit)` lists an app's parked jobs, earliest first (operators, tests).
 * `now` is the caller's clock (the dispatcher's, injectable in tests), not the store's.
 * Everything is scoped by app id: two apps with the same message and token ids never meet.
 */
export interface PushStateStore {
  ack(appId: string, user: string, messageId: string, ttlMs: number): Promise<void>;
  isAcked(appId: string, user: string, messageId: string): Promise<boolean>;
  begin(
    appId: string,
    messageId: string,
    device: string,
    leaseMs: number,
  ): Promise<'claimed' | 'sent' | 'busy'>;
  markSent(appId: string, messageId: string, device: string, ttlMs: number): Promise<void>;
  release(appId: string, messageId: string, device: string): Promise<void>;
  park(appId: string, id: string, dueAt: number, job: string): Promise<void>;
  claimDue(now: number, limit: number, leaseMs: number): Promise<ClaimedPushJob[]>;
  unpark(appId: string, id: string, lease: number): Promise<void>;
  listParked(appId: string, limit: number): Promise<{ id: string; dueAt: number }[]>;
}

/** A parked job handed out by `claimDue`; `lease` is its new due time, the token of `unpark`. */
export interface ClaimedPushJob {
  appId: string;
  id: string;
  job: string;
  lease: number;
}

export const PUSH_STATE_STORE = Symbol('PushStateStore');
