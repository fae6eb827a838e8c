export interface WaitForOptions {
  /** Give up (reject) after this long; default 5000 ms. */
  timeoutMs?: number;
  /** Pause between polls; default 5 ms. */
  intervalMs?: number;
  /** Added to the timeout error, to say what was awaited. */
  message?: string;
}

/**
 * Polls `predicate` until it returns true, rejecting after `timeoutMs`. For conditions that have no
 * event to await (a real server's TTL running out, a consumer on another connection catching up).
 * Uses real timers: do not combine with jest fake timers.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  options: WaitForOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const intervalMs = options.intervalMs ?? 5;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() >= deadline) {
      throw new Error(
        `waitFor: timed out after ${timeoutMs} ms${options.message ? `: ${options.message}` : ''}`,
      );
    }
    await new Promise<void>((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A promise with its resolve/reject exposed, to hold a handler open until the test lets it go. */
export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
