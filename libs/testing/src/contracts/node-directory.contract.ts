import type { NodeDirectory } from '@herald/presence';
import { uniqueId } from '../unique-id.js';
import { type ContractFixture, expirePast, TTL_MS, SLOW_TEST_MS } from './fixture.js';

export interface NodeDirectoryFixture extends ContractFixture {
  directory: NodeDirectory;
}

/** The NodeDirectory guarantees (libs/presence/src/node-directory.ts), for every driver. */
export function nodeDirectoryContract(name: string, setup: () => Promise<NodeDirectoryFixture>): void {
  describe(`NodeDirectory contract: ${name}`, () => {
    let fx: NodeDirectoryFixture;
    let directory: NodeDirectory;
    const LONG = 60_000;

    beforeEach(async () => {
      fx = await setup();
      directory = fx.directory;
    });
    afterEach(async () => {
      await fx.teardown();
    });

    it('finds an advertised node, and nothing for an unknown tag', async () => {
      const tag = uniqueId('n');
      await directory.advertise(tag, 'http://10.0.0.1:8080', LONG);
      expect(await directory.lookup(tag)).toBe('http://10.0.0.1:8080');
      expect(await directory.lookup(uniqueId('other'))).toBeUndefined();
    });

    it('replaces the URL on a new advertise, and forgets a withdrawn node', async () => {
      const tag = uniqueId('n');
      await directory.advertise(tag, 'http://10.0.0.1:8080', LONG);
      await directory.advertise(tag, 'http://10.0.0.2:8080', LONG);
      expect(await directory.lookup(tag)).toBe('http://10.0.0.2:8080');
      await directory.withdraw(tag);
      expect(await directory.lookup(tag)).toBeUndefined();
    });

    it(
      'forgets a node not refreshed within ttlMs',
      async () => {
        const tag = uniqueId('n');
        await directory.advertise(tag, 'http://10.0.0.1:8080', TTL_MS);
        await expirePast(fx, TTL_MS, async () => (await directory.lookup(tag)) === undefined);
      },
      SLOW_TEST_MS,
    );
  });
}
