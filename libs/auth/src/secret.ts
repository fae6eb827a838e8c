import { createHash, timingSafeEqual } from 'node:crypto';
import type { AppConfig } from '@herald/config';

/**
 * Whether `presented` is one of the app's live server secrets. Compares SHA-256 digests with
 * timingSafeEqual, so neither the content nor the length of a secret leaks through timing, and
 * checks every secret without stopping early, so which slot matched does not leak either.
 */
export function verifyServerSecret(app: AppConfig, presented: string): boolean {
  if (typeof presented !== 'string' || presented.length === 0) return false;
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let ok = false;
  for (const secret of app.secrets) {
    const expected = createHash('sha256').update(secret, 'utf8').digest();
    ok = timingSafeEqual(digest, expected) || ok;
  }
  return ok;
}
