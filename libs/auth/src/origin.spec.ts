import { appConfigSchema, type AppConfig } from '@herald/config';
import { isOriginAllowed } from './origin.js';

const make = (allowedOrigins: string[]): AppConfig =>
  appConfigSchema.parse({
    id: 'acme',
    keys: ['acme-key-1'],
    secrets: ['Zq8vN3kP7wR2tY6uB1mC4xL9hJ5gF0dS'],
    allowedOrigins,
  });

const app = make([
  'https://app.example.com',
  'https://*.example.com',
  'http://localhost:3000',
  'HTTPS://Shop.Example.org:443',
]);

describe('isOriginAllowed', () => {
  it.each<[string | undefined, boolean, string]>([
    [undefined, true, 'no Origin header (non-browser client)'],
    ['https://app.example.com', true, 'exact'],
    ['https://APP.Example.COM', true, 'case-insensitive host'],
    ['HTTPS://app.example.com', true, 'case-insensitive scheme'],
    ['https://app.example.com:443', true, 'explicit default port'],
    ['https://app.example.com/', true, 'trailing slash'],
    ['https://a.example.com', true, 'wildcard subdomain'],
    ['https://a.b.example.com', true, 'wildcard deeper subdomain'],
    ['https://example.com', false, 'wildcard does not match the apex'],
    ['https://evil-example.com', false, 'wildcard does not match a suffix without a dot'],
    ['https://example.com.evil.io', false, 'pattern host as a prefix'],
    ['http://a.example.com', false, 'wildcard: other scheme'],
    ['https://a.example.com:8443', false, 'wildcard: other port'],
    ['http://app.example.com', false, 'exact: other scheme'],
    ['https://app.example.com:444', false, 'exact: other port'],
    ['http://localhost:3000', true, 'exact with port'],
    ['http://localhost', false, 'missing port'],
    ['http://localhost:3001', false, 'other port'],
    ['https://shop.example.org', true, 'pattern normalised (case, default port)'],
    ['https://app.example.com/path', false, 'path is not an origin'],
    ['https://user@app.example.com', false, 'userinfo is not an origin'],
    ['https://.example.com', false, 'empty subdomain label'],
    ['https://a..example.com', false, 'empty inner label'],
    ['https://Ä.example.com', true, 'IDN subdomain (punycode)'],
    ['null', false, 'opaque origin'],
    ['', false, 'empty'],
    ['app.example.com', false, 'no scheme'],
  ])('%s → %s (%s)', (origin, expected) => {
    expect(isOriginAllowed(app, origin)).toBe(expected);
  });

  it('"*" allows everything, including opaque origins', () => {
    const any = make(['*']);
    expect(isOriginAllowed(any, 'https://anything.io')).toBe(true);
    expect(isOriginAllowed(any, 'null')).toBe(true);
  });

  it('an empty list refuses every browser origin but allows non-browser clients', () => {
    const none = make([]);
    expect(isOriginAllowed(none, 'https://app.example.com')).toBe(false);
    expect(isOriginAllowed(none, undefined)).toBe(true);
  });
});
