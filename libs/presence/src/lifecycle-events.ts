/**
 * LifecycleEvents: what the core reports about connections and subscriptions, so webhook events
 * can be produced. The core calls it synchronously and never waits: implementations queue the
 * work, swallow and log their own failures, and never throw (a webhook problem must not fail a
 * subscribe or a publish).
 *
 * Counting is per subscription, not per user: `subscribed` is called once per (connection,
 * channel) that became active, `unsubscribed` once for each of those when it ends (unsubscribe,
 * server unsubscribe or close). `user` is passed for presence channels only; member events are
 * derived from it (first and last connection of a user in the channel).
 */
export interface LifecycleEvents {
  connectionOpened(appId: string, client: string, user: string): void;
  connectionClosed(appId: string, client: string, user: string): void;
  subscribed(appId: string, channel: string, client: string, presenceUser?: string): void;
  unsubscribed(appId: string, channel: string, client: string, presenceUser?: string): void;
  /**
   * A client published on a channel. `eventName` is the client event's name where the protocol has
   * one (the Pusher protocol's `client-*` events; `client` is then the Pusher socket id).
   */
  clientEvent(
    appId: string,
    channel: string,
    client: string,
    user: string,
    data: unknown,
    eventName?: string,
  ): void;
}

export const LIFECYCLE_EVENTS = Symbol('LifecycleEvents');
