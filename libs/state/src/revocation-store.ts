/**
 * RevocationStore: revoked token ids and per-user "tokens issued before T are revoked" marks.
 * Guarantees (libs/testing `revocationStoreContract`): a revocation is visible to every reader
 * once the call resolved, and is forgotten after `ttlMs` (set it to the token's remaining
 * lifetime: an expired token is refused anyway). Revoking again never weakens a revocation: the
 * user mark only moves later, and an entry's expiry only moves later. Apps are independent.
 */
export interface RevocationStore {
  revokeToken(appId: string, jti: string, ttlMs: number): Promise<void>;
  isTokenRevoked(appId: string, jti: string): Promise<boolean>;
  /** Revokes every token of `user` whose `iat` (seconds) is before `issuedBefore` (seconds). */
  revokeUser(appId: string, user: string, issuedBefore: number, ttlMs: number): Promise<void>;
  /** The user's revoke-before mark in seconds, if any. */
  userRevokedBefore(appId: string, user: string): Promise<number | undefined>;
}

export const REVOCATION_STORE = Symbol('RevocationStore');
