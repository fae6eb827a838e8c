import { appConfigSchema, type AppConfig } from '@herald/config';
import {
  MAX_RESUME_TOKEN_LENGTH,
  decodeResumeToken,
  encodeResumeToken,
  type ResumeState,
} from './resume-token.js';

const app = (id: string, secrets: string[]): AppConfig =>
  appConfigSchema.parse({ id, keys: [`${id}-key-1`], secrets });
const S1 = 'Zq8vN3kP7wR2tY6uB1mC4xL9hJ5gF0dS';
const S2 = 'aQ1sW2dE3rF4tG5yH6uJ7iK8oL9pZ0xC';
const acme = app('acme', [S1]);

const state = (channels: [string, { offset: number; epoch: string } | undefined][]): ResumeState => ({
  session: 'sess1',
  user: 'u42',
  seq: 1234,
  channels: new Map(channels),
});

describe('resume tokens', () => {
  it('round-trips session, user, seq and every channel position', () => {
    const s = state([
      ['chat:lobby', { offset: 17, epoch: 'Xk3_a9Qz' }],
      ['dialog#42,43', { offset: 0, epoch: 'e-2' }],
      ['nohist:x', undefined],
    ]);
    const token = encodeResumeToken(acme, s);
    expect(token).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(decodeResumeToken(acme, token)).toEqual(s);
  });

  it('round-trips a session without channels', () => {
    const s = state([]);
    expect(decodeResumeToken(acme, encodeResumeToken(acme, s))).toEqual(s);
  });

  it('verifies with any live secret, so rotation does not reset clients', () => {
    const token = encodeResumeToken(acme, state([['a', { offset: 1, epoch: 'e' }]]));
    expect(decodeResumeToken(app('acme', [S2, S1]), token)).toBeDefined();
    expect(decodeResumeToken(app('acme', [S2]), token)).toBeUndefined();
  });

  it('refuses tokens of another app, even with the same secret', () => {
    const token = encodeResumeToken(acme, state([['a', { offset: 1, epoch: 'e' }]]));
    expect(decodeResumeToken(app('other', [S1]), token)).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['garbage', 'hello'],
    ['wrong version', '2.AAAA.BBBB.1.1'],
    ['too many parts', '1.a.b.c.d.e'],
    ['oversized', `1.${'A'.repeat(MAX_RESUME_TOKEN_LENGTH)}.x.1.1`],
  ])('refuses %s', (_, token) => {
    expect(decodeResumeToken(acme, token)).toBeUndefined();
  });

  it('refuses a tampered channel list but accepts any offsets (they are only recovery positions)', () => {
    const token = encodeResumeToken(acme, state([['a', { offset: 5, epoch: 'e' }]]));
    const other = encodeResumeToken(acme, { ...state([['b', { offset: 5, epoch: 'e' }]]) });
    const parts = token.split('.');
    const swapped = [...parts];
    swapped[1] = other.split('.')[1];
    expect(decodeResumeToken(acme, swapped.join('.'))).toBeUndefined();
    const moved = [...parts];
    moved[4] = '9';
    expect(decodeResumeToken(acme, moved.join('.'))?.channels.get('a')).toEqual({ offset: 9, epoch: 'e' });
    const malformed = [...parts];
    malformed[4] = 'X!';
    expect(decodeResumeToken(acme, malformed.join('.'))).toBeUndefined();
  });

  it('never issues a token over the size limit: trailing channels are left out', () => {
    const many = state(
      Array.from({ length: 200 }, (_, i) => [`${'c'.repeat(200)}${i}`, { offset: i, epoch: 'epoch' }]),
    );
    const token = encodeResumeToken(acme, many);
    expect(token.length).toBeLessThanOrEqual(MAX_RESUME_TOKEN_LENGTH);
    const decoded = decodeResumeToken(acme, token);
    expect(decoded?.channels.size).toBeGreaterThan(0);
    expect(decoded?.channels.get(`${'c'.repeat(200)}0`)).toEqual({ offset: 0, epoch: 'epoch' });
  });

  it('reuses the signed part while the channel list is unchanged', () => {
    const cache = {};
    const a = encodeResumeToken(acme, state([['a', { offset: 1, epoch: 'e' }]]), cache);
    const b = encodeResumeToken(acme, state([['a', { offset: 2, epoch: 'e' }]]), cache);
    expect(a.split('.').slice(0, 3)).toEqual(b.split('.').slice(0, 3));
    expect(decodeResumeToken(acme, b)?.channels.get('a')?.offset).toBe(2);
  });
});
