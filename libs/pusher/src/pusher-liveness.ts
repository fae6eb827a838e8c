/** What the liveness check needs of a Pusher connection (PusherTransport in production). */
export interface LivenessTarget {
  /** When the client last sent anything (ms). */
  lastActivityAt: number;
  /** When the unanswered `pusher:ping` was sent (ms), 0 when none is outstanding. */
  pingSentAt: number;
  ping(): void;
  /** No message within the pong timeout of a ping: close with 4201. */
  timeout(): void;
}

/**
 * Pusher's activity semantics for the server side of a connection, for every Pusher connection of
 * the node from one timer (an idle connection stays cheap, as with the native SessionSupervisor):
 * after `activityMs` without any message from the client the server sends `pusher:ping`; if nothing
 * (a `pusher:pong` or any other message) arrives within `pongMs` of it, the connection is closed with
 * 4201. Any message counts as activity, so busy clients are never pinged. The native ping cycle
 * (`ws.pingIntervalSeconds`) does not apply to Pusher connections.
 */
export class PusherLiveness {
  private readonly conns = new Set<LivenessTarget>();

  constructor(
    private readonly activityMs: number,
    private readonly pongMs: number,
  ) {}

  add(t: LivenessTarget): void {
    this.conns.add(t);
  }

  delete(t: LivenessTarget): void {
    this.conns.delete(t);
  }

  get size(): number {
    return this.conns.size;
  }

  tick(now: number): void {
    for (const t of this.conns) {
      if (t.pingSentAt > 0 && t.lastActivityAt >= t.pingSentAt) t.pingSentAt = 0;
      if (t.pingSentAt === 0) {
        if (now - t.lastActivityAt >= this.activityMs) {
          t.pingSentAt = now;
          t.ping();
        }
      } else if (now - t.pingSentAt >= this.pongMs) {
        this.conns.delete(t);
        t.timeout();
      }
    }
  }
}
