import { appConfigSchema } from '@herald/config';
import { secretKeys } from './keys.js';
import { secretHasScope, verifyServerSecret } from './secret.js';

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

describe('secret scopes', () => {
  const scoped = { ...app, secretScopes: [['stats'], ['publish', 'token']] } as typeof app;

  it('checks the scope of the secret that matched; publish implies stats', () => {
    expect(verifyServerSecret(scoped, A, 'stats')).toBe(true);
    expect(verifyServerSecret(scoped, A, 'publish')).toBe(false);
    expect(verifyServerSecret(scoped, B, 'publish')).toBe(true);
    expect(verifyServerSecret(scoped, B, 'stats')).toBe(true);
    expect(verifyServerSecret(scoped, B, 'admin')).toBe(false);
    expect(secretHasScope(app, 0, 'admin')).toBe(true); // config-file secrets have every scope
  });

  it('signs tokens only with token-scoped secrets', () => {
    expect(secretKeys(scoped)).toHaveLength(1);
    expect(secretKeys(app)).toHaveLength(2);
  });
});
