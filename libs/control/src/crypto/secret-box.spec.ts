import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMasterKey, MasterKeyError, parseMasterKey } from './master-key.js';
import { MasterKeyMismatchError, SecretBox } from './secret-box.js';

describe('SecretBox (AES-256-GCM)', () => {
  const box = new SecretBox(Buffer.alloc(32, 1));

  it('round-trips, with a fresh IV per seal, and binds the owner (AAD)', () => {
    const a = box.seal('hello', 'app/a/secret/1');
    expect(a.equals(box.seal('hello', 'app/a/secret/1'))).toBe(false);
    expect(box.openText(a, 'app/a/secret/1')).toBe('hello');
    expect(() => box.open(a, 'app/b/secret/1')).toThrow(/failed authentication/);
  });

  it('detects tampering and a different master key', () => {
    const sealed = box.seal('hello', 'x');
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] ^= 1;
    expect(() => box.open(tampered, 'x')).toThrow(/failed authentication/);
    expect(() => new SecretBox(Buffer.alloc(32, 2)).open(sealed, 'x')).toThrow(MasterKeyMismatchError);
    expect(() => new SecretBox(Buffer.alloc(16))).toThrow(/32 bytes/);
  });
});

describe('master key', () => {
  it('parses 32 bytes of hex or base64, nothing else, without echoing the value', () => {
    expect(parseMasterKey('ab'.repeat(32))).toHaveLength(32);
    expect(parseMasterKey(Buffer.alloc(32, 5).toString('base64'))).toHaveLength(32);
    expect(parseMasterKey(Buffer.alloc(32, 5).toString('base64url'))).toHaveLength(32);
    for (const bad of ['short', 'ab'.repeat(31), Buffer.alloc(16).toString('base64')]) {
      expect(() => parseMasterKey(bad)).toThrow(MasterKeyError);
      try {
        parseMasterKey(bad);
      } catch (err) {
        expect((err as Error).message).not.toContain(bad);
      }
    }
  });

  it('refuses a missing key in production, generates and reuses one in development', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'herald-mk-'));
    expect(() => loadMasterKey({ env: {}, production: true, dataDir })).toThrow(
      /Refusing to start in production/,
    );
    const first = loadMasterKey({ env: {}, production: false, dataDir });
    expect(first.origin).toBe('generated');
    expect(statSync(first.path!).mode & 0o777).toBe(0o600);
    const again = loadMasterKey({ env: {}, production: false, dataDir });
    expect(again).toMatchObject({ origin: 'file' });
    expect(again.key.equals(first.key)).toBe(true);
    expect(readFileSync(first.path!, 'utf8').trim()).toBe(first.key.toString('base64'));
    const fromEnv = loadMasterKey({ env: { HERALD_MASTER_KEY: 'cd'.repeat(32) }, production: true, dataDir });
    expect(fromEnv.origin).toBe('env');
  });
});
