import { randomBytes } from 'node:crypto';

/**
 * A name no other test (or test run sharing the same Redis or Kafka) uses: contract suites prefix
 * every app id and topic with one, so suites can share one server without cleaning it.
 */
export function uniqueId(prefix = 't'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}
