import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Suites that need a real service (Redis, PostgreSQL, Kafka) find its address here: first in the
 * environment (HERALD_TEST_<NAME>_URL, so existing clusters can be used), then in the
 * .infra/<name>.env file written by `scripts/infra.sh up`.
 *
 * When the service is missing: in CI (CI=true) the suite fails with a message that says how to
 * start it; locally the suite is reported as skipped, with the reason in its title. It never
 * passes without running.
 */
export type InfraService = 'redis' | 'postgres' | 'kafka';

const root = fileURLToPath(new URL('../../../', import.meta.url));

export function serviceUrl(name: InfraService): string | undefined {
  const variable = `HERALD_TEST_${name.toUpperCase()}_URL`;
  const fromEnv = process.env[variable];
  if (fromEnv) return fromEnv;
  const file = `${root}.infra/${name}.env`;
  if (!existsSync(file)) return undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && line.slice(0, eq).trim() === variable) return line.slice(eq + 1).trim();
  }
  return undefined;
}

/** `describe` for a suite that needs `name`; `fn` gets the service address. */
export function describeWithService(name: InfraService, title: string, fn: (url: string) => void): void {
  describeWithServices([name], title, ([url]) => fn(url));
}

/** `describe` for a suite that needs several services; `fn` gets their addresses, in order. */
export function describeWithServices(
  names: InfraService[],
  title: string,
  fn: (urls: string[]) => void,
): void {
  const urls = names.map(serviceUrl);
  if (urls.every((u): u is string => u !== undefined)) {
    describe(title, () => fn(urls));
    return;
  }
  const missing = names.filter((_, i) => urls[i] === undefined);
  const how =
    `start with \`scripts/infra.sh up ${missing.join(' ')}\` or set ` +
    missing.map((m) => `HERALD_TEST_${m.toUpperCase()}_URL`).join(', ');
  if (process.env.CI === 'true') {
    describe(title, () => {
      it(`needs ${missing.join(', ')}`, () => {
        throw new Error(`${missing.join(', ')} required in CI but not running: ${how}`);
      });
    });
  } else {
    describe.skip(`${title} (skipped: ${missing.join(', ')} not running; ${how})`, () => {
      it('needs the services', () => undefined);
    });
  }
}
