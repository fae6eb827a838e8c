import { createHash, timingSafeEqual } from 'node:crypto';
import type { AppConfig, SecretScope } from '@herald/config';

/**
 * Whether the app's secret at `index` may be used for `scope`. Secrets without recorded scopes
 * (config-file apps) have every scope; `publish` implies `stats` (a publisher may read).
 */
export function secretHasScope(app: AppConfig, index: number, scope: SecretScope): boolean {
  const scopes = app.secretScopes?.[index];
  if (scopes === undefined) return true;
  return scopes.includes(scope) || (scope === 'stats' && scopes.includes('publish'));
}

/**
 * Whether `presented` is one of the app's live server secrets (with `scope`, when given). Compares
 * SHA-256 digests with timingSafeEqual, so neither the content nor the length of a secret leaks
 * through timing, and checks every secret without stopping early, so which slot matched does not
 * leak either.
 */
export function verifyServerSecret(app: AppConfig, presented: string, scope?: SecretScope): boolean {
  if (typeof presented !== 'string' || presented.length === 0) return false;
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let ok = false;
  for (const [i, secret] of app.secrets.entries()) {
    const expected = createHash('sha256').update(secret, 'utf8').digest();
    const match = timingSafeEqual(digest, expected);
    ok = (match && (scope === undefined || secretHasScope(app, i, scope))) || ok;
  }
  return ok;
}
