import jwt from 'jsonwebtoken';
import type { AppConfig } from '@herald/config';

export interface SignOptions {
  /** Which of the app's secrets signs (default 0); 1 exercises rotation. */
  secretIndex?: number;
  expiresInSeconds: number;
  /** Seconds since the epoch used for iat/exp (default now). */
  nowSec?: number;
}

export interface DevConnectionClaims {
  sub: string;
  channels?: string[];
  info?: unknown;
  jti?: string;
}

export interface DevSubscriptionClaims {
  sub: string;
  channel: string;
  client?: string;
  info?: unknown;
  jti?: string;
}

function sign(app: AppConfig, payload: Record<string, unknown>, options: SignOptions): string {
  const secret = app.secrets[options.secretIndex ?? 0];
  if (secret === undefined) throw new Error(`app "${app.id}" has no secret #${options.secretIndex}`);
  const iat = Math.floor(options.nowSec ?? Date.now() / 1000);
  return jwt.sign({ ...payload, aud: app.id, iat, exp: iat + options.expiresInSeconds }, secret, {
    algorithm: 'HS256',
  });
}

/**
 * An HS256 connection token for the app (aud = app id), as a tenant backend would sign it. For the
 * development app printout, tests and benchmarks; production backends sign with their own library.
 */
export function signConnectionToken(
  app: AppConfig,
  claims: DevConnectionClaims,
  options: SignOptions,
): string {
  return sign(app, { ...claims }, options);
}

/** An HS256 subscription token for a private channel, for tests and examples. */
export function signSubscriptionToken(
  app: AppConfig,
  claims: DevSubscriptionClaims,
  options: SignOptions,
): string {
  return sign(app, { ...claims }, options);
}
