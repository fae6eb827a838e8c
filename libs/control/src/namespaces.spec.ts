import { appConfigSchema } from '@herald/config';
import { parseChannel } from '@herald/protocol';
import { resolveNamespace } from './namespaces.js';

const app = appConfigSchema.parse({
  id: 'acme',
  keys: ['acme-key-1'],
  secrets: ['Zq8vN3kP7wR2tY6uB1mC4xL9hJ5gF0dS'],
  namespaces: { default: { historySize: 5 }, chat: { presence: true }, dm: { private: true } },
});

const resolve = (channel: string) => resolveNamespace(app, parseChannel(channel)!);

describe('resolveNamespace', () => {
  it.each([
    ['news', '', 5],
    ['#42', '', 5],
    ['dialog#42,43', '', 5],
    ['chat:room', 'chat', 0],
    ['chat:#42', 'chat', 0],
    ['dm:a#1,2', 'dm', 0],
  ])('%s uses namespace "%s"', (channel, namespace, historySize) => {
    expect(parseChannel(channel)?.namespace).toBe(namespace);
    expect(resolve(channel)).toBe(app.namespaces[namespace]);
    expect(resolve(channel)?.historySize).toBe(historySize);
  });

  it('answers undefined for unconfigured namespaces, including prototype names', () => {
    expect(resolve('other:x')).toBeUndefined();
    expect(resolve('constructor:x')).toBeUndefined();
    expect(resolve('default:x')).toBeUndefined(); // "default" is only a file alias for ""
  });
});
