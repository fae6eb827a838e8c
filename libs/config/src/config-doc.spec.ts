import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { JSON_SCHEMA_LOST_DEFAULTS, renderConfigurationDoc } from './config-doc.js';
import { nodeConfigSchema } from './schema.js';

const DOC = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));

describe('docs/configuration.md', () => {
  it('matches the schema (UPDATE_DOCS=1 writes it)', async () => {
    // Compared after prettier so `npm run format` over docs/ does not count as drift.
    const options = (await prettier.resolveConfig(DOC)) ?? {};
    const rendered = await prettier.format(renderConfigurationDoc(), { ...options, parser: 'markdown' });
    if (process.env['UPDATE_DOCS'] === '1') writeFileSync(DOC, rendered);
    let committed = '';
    try {
      committed = readFileSync(DOC, 'utf8');
    } catch {
      // Reported below as drift.
    }
    if (committed !== rendered) {
      throw new Error(
        'docs/configuration.md is out of date with libs/config/src/schema.ts. Regenerate it with\n' +
          '  UPDATE_DOCS=1 node --experimental-vm-modules node_modules/jest/bin/jest.js libs/config/src/config-doc.spec.ts',
      );
    }
  });

  it('documents every key with a description, and every env variable', () => {
    const doc = renderConfigurationDoc();
    for (const line of doc.split('\n').filter((l) => l.startsWith('| `'))) {
      const description = line.split(' | ').at(-1) ?? '';
      expect({ line, ok: description.replace(/\|$/, '').trim().length > 0 }).toEqual({ line, ok: true });
    }
    expect(doc).toContain('| `apps[].limits.maxFrameBytes` | integer |  | `65536` |');
    expect(doc).toContain('`HERALD_APP_SECRET_2`');
  });
});

describe('JSON_SCHEMA_LOST_DEFAULTS', () => {
  it('agree with the defaults the schema really applies', () => {
    const parsed = nodeConfigSchema.parse({}) as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(JSON_SCHEMA_LOST_DEFAULTS)) {
      expect(parsed[key]).toEqual(value);
    }
  });
});
