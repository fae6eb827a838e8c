import { readFileSync, writeFileSync } from 'node:fs';
import { renderErrorsDoc } from './errors-doc.js';

const path = new URL('../../../docs/errors.md', import.meta.url);

describe('docs/errors.md', () => {
  it('matches the catalogue', () => {
    const expected = renderErrorsDoc();
    if (process.env.UPDATE_DOCS === '1') writeFileSync(path, expected);
    const actual = readFileSync(path, 'utf8');
    if (actual !== expected) {
      throw new Error(
        'docs/errors.md is out of date: run `UPDATE_DOCS=1 npm run test:unit -- libs/protocol`',
      );
    }
  });
});
