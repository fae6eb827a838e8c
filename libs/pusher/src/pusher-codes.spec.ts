import { readFileSync } from 'node:fs';
import { ALL_PUSHER_CODES } from './pusher-codes.js';

const doc = readFileSync(new URL('../../../docs/pusher.md', import.meta.url), 'utf8');

describe('docs/pusher.md', () => {
  it('lists every Pusher code of the catalogue with its name and native counterpart', () => {
    for (const c of ALL_PUSHER_CODES) {
      const row = doc.split('\n').find((line) => line.startsWith(`| ${c.code} `));
      expect(row).toBeDefined();
      expect(row).toContain(`\`${c.name}\``);
      if (c.herald) expect(row).toContain(`| ${c.herald.code}`);
    }
  });
});
