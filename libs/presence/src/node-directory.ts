/**
 * NodeDirectory: where the live nodes of a cluster can be reached by each other. A node advertises
 * its internal base URL under its session tag (the prefix of every session id it creates, see
 * `SESSION_NODE_TAG` in libs/core) and refreshes it while it runs; a node that receives an HTTP
 * session command for a session it does not hold looks the owner up here and forwards the request.
 *
 * Guarantees (checked by libs/testing `nodeDirectoryContract`):
 * - `lookup` returns the URL of the latest `advertise` for the tag while that entry is live, and
 *   undefined once it was not refreshed within its `ttlMs`, or after `withdraw`. A node that dies
 *   without withdrawing disappears within one TTL; its sessions are then treated as gone.
 * - `advertise` replaces the URL and restarts the TTL. Tags are not tenant data: entries are per
 *   node, not per app.
 */
export interface NodeDirectory {
  advertise(tag: string, url: string, ttlMs: number): Promise<void>;
  withdraw(tag: string): Promise<void>;
  lookup(tag: string): Promise<string | undefined>;
}

export const NODE_DIRECTORY = Symbol('NodeDirectory');
