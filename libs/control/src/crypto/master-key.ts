/**
 * The master key comes from HERALD_MASTER_KEY only: never from a config file (files get copied,
 * committed and attached to tickets) and never logged. In development a missing key is generated
 * once and kept in `<dataDir>/master.key` (mode 0600) with a warning, so `npm start` keeps working
 * across restarts; in production a missing key refuses the start.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MASTER_KEY_ENV = 'HERALD_MASTER_KEY';
export const DEV_MASTER_KEY_FILE = 'master.key';

export class MasterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MasterKeyError';
  }
}

/** 32 bytes from 64 hex digits or base64/base64url; anything else is refused with the reason. */
export function parseMasterKey(value: string): Buffer {
  const text = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === 32) return key;
  }
  throw new MasterKeyError(
    `${MASTER_KEY_ENV} must be 32 bytes as 64 hex digits or base64 ` +
      "(generate one with `node -e \"console.log(require('crypto').randomBytes(32).toString('base64'))\"`)",
  );
}

export interface MasterKeySource {
  key: Buffer;
  /** Where it came from; `generated` and `file` only happen in development. */
  origin: 'env' | 'file' | 'generated';
  /** The file holding a development key. */
  path?: string;
}

export function loadMasterKey(options: {
  env: Readonly<Record<string, string | undefined>>;
  production: boolean;
  dataDir: string;
}): MasterKeySource {
  const value = options.env[MASTER_KEY_ENV];
  if (value !== undefined && value.trim() !== '') return { key: parseMasterKey(value), origin: 'env' };
  if (options.production) {
    throw new MasterKeyError(
      `Refusing to start in production without ${MASTER_KEY_ENV}: server secrets and push credentials ` +
        'are encrypted with it. Set it from your secret manager (32 random bytes, base64 or hex).',
    );
  }
  const path = join(options.dataDir, DEV_MASTER_KEY_FILE);
  if (existsSync(path)) return { key: parseMasterKey(readFileSync(path, 'utf8')), origin: 'file', path };
  mkdirSync(options.dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return { key, origin: 'generated', path };
}
