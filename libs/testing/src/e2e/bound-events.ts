import { DEFAULT_WAIT_MS, withTimeout } from './test-client.js';

/** An emitter with a `bind`/`unbind` interface: a pusher-js channel or connection. */
export interface BindTarget<T> {
  bind(event: string, callback: (data: T) => void): unknown;
  unbind(event: string, callback: (data: T) => void): unknown;
}

/** Resolves with the first `event` on `target` within `timeoutMs`; the handler is unbound either way. */
export function onceBound<T = unknown>(
  target: BindTarget<T>,
  event: string,
  timeoutMs = DEFAULT_WAIT_MS,
): Promise<T> {
  let handler: ((data: T) => void) | undefined;
  const p = new Promise<T>((resolve) => {
    handler = (data: T) => resolve(data);
    target.bind(event, handler);
  });
  return withTimeout(p, timeoutMs, `no ${event}`).finally(() => {
    if (handler) target.unbind(event, handler);
  });
}
