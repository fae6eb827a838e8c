/**
 * OccupancyCounter: cluster-wide counts of subscriptions per channel (and connections per presence
 * member), plus whether "occupied" was announced, so the first and last subscriber across all
 * gateways produce exactly one occupied/vacated event.
 *
 * Guarantees: `add` is atomic and returns the count after the change (never below 0: a delta that
 * would go negative leaves 0). `setAnnounced` atomically sets the flag and returns its previous
 * value, so of two nodes racing to announce, exactly one sees `false`. Keys are scoped by app.
 * A key whose count is 0 and whose flag is false holds no memory.
 */
export interface OccupancyCounter {
  add(appId: string, key: string, delta: 1 | -1): Promise<number>;
  count(appId: string, key: string): Promise<number>;
  setAnnounced(appId: string, key: string, announced: boolean): Promise<boolean>;
}

export const OCCUPANCY_COUNTER = Symbol('OccupancyCounter');
