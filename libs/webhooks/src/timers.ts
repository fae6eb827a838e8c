/** Time and timers, injected so tests scale retention and backoff without sleeping. */
export interface Scheduler {
  now(): number;
  /** Runs `fn` after `ms`; the returned function cancels it. Timers never keep the process alive. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const WEBHOOK_SCHEDULER = Symbol('WebhookScheduler');

export const realScheduler: Scheduler = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return () => clearTimeout(t);
  },
};
