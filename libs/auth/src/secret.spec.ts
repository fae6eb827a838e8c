import { appConfigSchema } from '@herald/config';
import { verifyServerSecret } from './secret.js';

const A = 'Zq8vN3kP7wR2tY6uB1mC4xL9hJ5gF0dS';
const B = 'aQ1sW2dE3rF4tG5yH6uJ7iK8oL9pZ0xC';
const app = appConfigSchema.parse({ id: 'acme', keys: ['acme-key-1'], secrets: [A, B] });

describe('verifyServerSecret', () => {
  it('accepts every live secret (rotation)', () => {
    expect(verifyServerSecret(app, A)).toBe(true);
    expect(verifyServerSecret(app, B)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['prefix', A.slice(0, 31)],
    ['longer', `${A}x`],
    ['other case', A.toLowerCase()],
    ['whitespace', ` ${A}`],
  ])('refuses %s', (_name, presented) => {
    expect(verifyServerSecret(app, presented)).toBe(false);
  });
});
