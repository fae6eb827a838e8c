import { BadRequestException, NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { z } from 'zod';
import { ALL_ERRORS, ErrorCode, HeraldError } from '@herald/protocol';
import { toErrorResponse } from './error-response.js';
import { errorBody } from './schemas.js';

describe('toErrorResponse', () => {
  it('renders every catalogue error with its status, code and name', () => {
    for (const def of ALL_ERRORS) {
      const r = toErrorResponse(new HeraldError(def, 'why', { a: 1 }));
      expect(r.status).toBe(def.status);
      expect(r.body).toEqual({
        error: { code: def.code, name: def.name, message: 'why', details: { a: 1 } },
      });
      expect(errorBody.safeParse(r.body).success).toBe(true);
    }
  });

  it('omits empty details', () => {
    expect(toErrorResponse(new HeraldError(ErrorCode.BAD_REQUEST, 'x', {})).body.error).not.toHaveProperty(
      'details',
    );
  });

  it('sets Retry-After in whole seconds, rounded up, at least 1', () => {
    const retry = (ms: unknown) =>
      toErrorResponse(new HeraldError(ErrorCode.RATE_LIMITED, 'slow down', { retryAfterMs: ms })).headers[
        'Retry-After'
      ];
    expect(retry(0)).toBe('1');
    expect(retry(1000)).toBe('1');
    expect(retry(1001)).toBe('2');
    expect(retry(-5)).toBeUndefined();
    expect(retry('3')).toBeUndefined();
    expect(toErrorResponse(new HeraldError(ErrorCode.UNAVAILABLE)).headers['Retry-After']).toBe('1');
    expect(
      toErrorResponse(new HeraldError(ErrorCode.UNAVAILABLE, 'x', { retryAfterMs: 2500 })).headers[
        'Retry-After'
      ],
    ).toBe('3');
  });

  it('asks for Bearer credentials on 401', () => {
    expect(toErrorResponse(new HeraldError(ErrorCode.UNAUTHORIZED)).headers['WWW-Authenticate']).toMatch(
      /^Bearer /,
    );
  });

  it('maps zod errors to bad_request with issues', () => {
    const err = z.strictObject({ a: z.string() }).safeParse({ a: 1 }).error;
    const r = toErrorResponse(err);
    expect(r.status).toBe(400);
    expect(r.body.error.details).toEqual({ issues: [{ path: 'a', message: expect.any(String) }] });
  });

  it("maps Nest's exceptions without echoing their messages", () => {
    expect(toErrorResponse(new NotFoundException('Cannot GET /x')).body.error.name).toBe('method_not_found');
    const bad = toErrorResponse(new BadRequestException('Unexpected token s in JSON at "secret"'));
    expect(bad.body.error.name).toBe('bad_request');
    expect(bad.body.error.message).not.toContain('secret');
    expect(toErrorResponse(new PayloadTooLargeException()).status).toBe(413);
  });

  it("maps body-parser's errors", () => {
    const tooLarge = Object.assign(new Error('request entity too large'), {
      status: 413,
      type: 'entity.too.large',
      limit: 100,
      expose: true,
    });
    expect(toErrorResponse(tooLarge)).toMatchObject({
      status: 413,
      body: {
        error: { name: 'payload_too_large', message: 'request body exceeds the node limit of 100 bytes' },
      },
    });
    const charset = Object.assign(new Error('unsupported charset "LATIN1"'), {
      status: 415,
      type: 'charset.unsupported',
    });
    expect(toErrorResponse(charset)).toMatchObject({ status: 400, body: { error: { name: 'bad_request' } } });
    const aborted = Object.assign(new Error('request aborted'), { status: 400, type: 'request.aborted' });
    expect(toErrorResponse(aborted).body.error.name).toBe('bad_request');
  });

  it('answers anything else with a generic internal error, flagged for logging', () => {
    for (const thrown of [
      new Error('pg: password authentication failed'),
      'a string',
      null,
      { status: 502 },
    ]) {
      const r = toErrorResponse(thrown);
      expect(r).toMatchObject({ status: 500, unexpected: true });
      expect(r.body.error).toEqual({ code: 100, name: 'internal', message: ErrorCode.INTERNAL.message });
    }
  });
});
