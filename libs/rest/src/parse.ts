import type { z } from 'zod';
import { ErrorCode, HeraldError } from '@herald/protocol';

export interface ValidationIssue {
  /** Dotted path of the offending field (`commands.2.params.channel`); empty for the whole input. */
  path: string;
  message: string;
}

/** Longest value of one issue list: a body with thousands of bad items gets a bounded answer. */
const MAX_ISSUES = 20;

export function zodIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.slice(0, MAX_ISSUES).map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

function parseWith<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = zodIssues(parsed.error);
  const first = issues[0];
  const summary = first ? `${first.path === '' ? what : first.path}: ${first.message}` : 'invalid';
  throw new HeraldError(ErrorCode.BAD_REQUEST, `invalid ${what}: ${summary}`, { issues });
}

/**
 * Validates a JSON request body against a strict schema, or throws BAD_REQUEST with
 * `details.issues` (path + message per problem). A request without a body is validated as `{}`, so
 * a missing body reports the missing fields by name. Issue messages never quote input values.
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  return parseWith(schema, body === undefined ? {} : body, 'body');
}

/** Same as parseBody, for the query string (values are strings; schemas coerce them). */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  return parseWith(schema, query ?? {}, 'query');
}
