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
}

export const PUSH_STATE_STORE = Symbol('PushStateStore');
