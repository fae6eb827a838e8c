/**
 * The admin token: `admin.token` (HERALD_ADMIN_TOKEN). In development without one, a token is
 * generated once into `<dataDir>/admin-token` (mode 0600), where the CLI finds it, so
 * `npm start` + `herald apps list` works on a laptop; the log names the file, never the token.
 * In production without one the admin API is off (every call answers unauthorized).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NodeConfig } from '@herald/config';

export const DEV_ADMIN_TOKEN_FILE = 'admin-token';

export interface AdminToken {
  token?: string;
  /** Set when the token is the generated development one. */
  file?: string;
  generated?: boolean;
}

export function resolveAdminToken(config: NodeConfig): AdminToken {
  if (config.admin.token !== undefined) return { token: config.admin.token };
  if (config.env === 'production' || config.control.driver === 'config') return {};
  const dir = resolve(config.control.dataDir);
  const file = join(dir, DEV_ADMIN_TOKEN_FILE);
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 32) return { token, file };
  }
  mkdirSync(dir, { recursive: true });
  const token = `hadm_${randomBytes(32).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, file, generated: true };
}
