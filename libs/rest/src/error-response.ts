import { HttpException } from '@nestjs/common';
import { z } from 'zod';
import { ErrorCode, HeraldError, type ErrorDef } from '@herald/protocol';
import { zodIssues } from './parse.js';
import type { ErrorBody, ItemError } from './schemas.js';

/** What one error answers over HTTP. */
export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** Unexpected: log it with its stack (the client only sees "internal server error"). */
  unexpected: boolean;
}

/** Retry-After used for UNAVAILABLE when the error gives no hint. */
const DEFAULT_UNAVAILABLE_RETRY_SECONDS = 1;

/** Fields of the errors that body-parser (http-errors) raises before Nest sees the request. */
interface HttpErrorLike {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  expose?: unknown;
  limit?: unknown;
}

function httpErrorStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as HttpErrorLike;
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : undefined;
}

/** The catalogue entry that best answers a bare HTTP status (Nest or body-parser errors). */
function defForStatus(status: number): ErrorDef {
  switch (status) {
    case 401:
      return ErrorCode.UNAUTHORIZED;
    case 403:
      return ErrorCode.PERMISSION_DENIED;
    case 404:
      return ErrorCode.METHOD_NOT_FOUND;
    case 413:
      return ErrorCode.PAYLOAD_TOO_LARGE;
    case 429:
      return ErrorCode.RATE_LIMITED;
    case 503:
      return ErrorCode.UNAVAILABLE;
    default:
      return status < 500 ? ErrorCode.BAD_REQUEST : ErrorCode.INTERNAL;
  }
}

export function errorItem(def: ErrorDef, message: string, details?: Record<string, unknown>): ItemError {
  const out: ItemError = { code: def.code, name: def.name, message };
  if (details !== undefined && Object.keys(details).length > 0) out.details = details;
  return out;
}

function retryAfterSeconds(details: Record<string, unknown> | undefined): number | undefined {
  const ms = details?.retryAfterMs;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return undefined;
  // Rounded up, and at least 1: "Retry-After: 0" invites an immediate retry that fails again.
  return Math.max(1, Math.ceil(ms / 1000));
}

function respond(
  def: ErrorDef,
  message: string,
  details?: Record<string, unknown>,
  unexpected = false,
): ErrorResponse {
  const headers: Record<string, string> = {};
  if (def === ErrorCode.UNAUTHORIZED) headers['WWW-Authenticate'] = 'Bearer realm="herald"';
  if (def === ErrorCode.RATE_LIMITED) {
    const s = retryAfterSeconds(details);
    if (s !== undefined) headers['Retry-After'] = String(s);
  }
  if (def === ErrorCode.UNAVAILABLE) {
    headers['Retry-After'] = String(retryAfterSeconds(details) ?? DEFAULT_UNAVAILABLE_RETRY_SECONDS);
  }
  return { status: def.status, body: { error: errorItem(def, message, details) }, headers, unexpected };
}

/**
 * Maps anything a request can throw to the one error shape. Only HeraldError messages (written by us)
 * and fixed texts reach the client: messages of other errors (driver failures, JSON parser output
 * quoting the body) are never echoed, and nothing here reads request headers, so a secret cannot be
 * reflected.
 */
export function toErrorResponse(err: unknown): ErrorResponse {
  if (err instanceof HeraldError) {
    return respond(err.def, err.message, err.details, err.def === ErrorCode.INTERNAL);
  }
  if (err instanceof z.ZodError) {
    return respond(ErrorCode.BAD_REQUEST, 'invalid request', { issues: zodIssues(err) });
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const def = defForStatus(status);
    switch (def) {
      case ErrorCode.METHOD_NOT_FOUND:
        return respond(def, 'no such route; see /v1/openapi.json');
      case ErrorCode.BAD_REQUEST:
        // Nest turns body-parser's SyntaxError (invalid JSON) and URIError (bad %-encoding in the
        // path) into BadRequestException; their messages quote the input, so they are not echoed.
        return respond(def, 'malformed request: invalid JSON body or URL encoding');
      case ErrorCode.PAYLOAD_TOO_LARGE:
        return respond(def, def.message);
      default:
        return respond(def, def.message, undefined, def === ErrorCode.INTERNAL);
    }
  }
  const status = httpErrorStatus(err);
  if (status !== undefined && status < 500) {
    const e = err as HttpErrorLike;
    if (e.type === 'entity.too.large') {
      const limit = typeof e.limit === 'number' ? ` of ${e.limit} bytes` : '';
      return respond(ErrorCode.PAYLOAD_TOO_LARGE, `request body exceeds the node limit${limit}`);
    }
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
      return respond(ErrorCode.BAD_REQUEST, 'unsupported body encoding or charset (send UTF-8 JSON)');
    }
    const def = defForStatus(status);
    return respond(def, def.message);
  }
  return respond(ErrorCode.INTERNAL, ErrorCode.INTERNAL.message, undefined, true);
}
