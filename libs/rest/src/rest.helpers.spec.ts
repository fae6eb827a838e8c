import { ErrorCode, HeraldError } from '@herald/protocol';
import { bearerToken, checkBody, type RestRequest } from './index.js';
import { httpBodyLimit, MIN_HTTP_BODY_LIMIT } from './configure-http.js';
import { parseBody, parseQuery } from './parse.js';
import { checkBatchSize, idempotencyKey, requireUser } from './rest-commands.js';
import { historyQuery, publishBody } from './schemas.js';
import { testConfig } from './rest.fakes.js';

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof HeraldError) return err.code;
    throw err;
  }
  return undefined;
}

describe('bearerToken', () => {
  it('reads the credentials of the Bearer scheme only', () => {
    expect(bearerToken({ authorization: 'Bearer abc' })).toBe('abc');
    expect(bearerToken({ authorization: 'bearer   abc ' })).toBe('abc');
    expect(bearerToken({ authorization: 'Basic abc' })).toBeUndefined();
    expect(bearerToken({ authorization: 'Bearer' })).toBeUndefined();
    expect(bearerToken({ authorization: 'Bearer a b' })).toBeUndefined();
    expect(bearerToken({})).toBeUndefined();
  });
});

describe('checkBody', () => {
  const app = testConfig().apps[0]; // maxBodyBytes 2048
  const req = (headers: Record<string, string>, body?: unknown) =>
    ({ headers, body }) as unknown as RestRequest;

  it('accepts no body, and JSON bodies within the app limit', () => {
    expect(codeOf(() => checkBody(req({}), app))).toBeUndefined();
    expect(codeOf(() => checkBody(req({ 'content-length': '0' }), app))).toBeUndefined();
    const json = { 'content-type': 'application/json; charset=utf-8', 'content-length': '2048' };
    expect(codeOf(() => checkBody(req(json), app))).toBeUndefined();
    expect(
      codeOf(() =>
        checkBody(req({ 'content-type': 'application/merge-patch+json', 'content-length': '2' }), app),
      ),
    ).toBeUndefined();
  });

  it('refuses bodies over the limit, by Content-Length or by size when chunked', () => {
    const big = { 'content-type': 'application/json', 'content-length': '2049' };
    expect(codeOf(() => checkBody(req(big), app))).toBe(ErrorCode.PAYLOAD_TOO_LARGE.code);
    const chunked = { 'content-type': 'application/json', 'transfer-encoding': 'chunked' };
    expect(codeOf(() => checkBody(req(chunked, { d: 'x'.repeat(2100) }), app))).toBe(
      ErrorCode.PAYLOAD_TOO_LARGE.code,
    );
    expect(codeOf(() => checkBody(req(chunked, { d: 'x' }), app))).toBeUndefined();
  });

  it('refuses bodies that are not JSON', () => {
    expect(codeOf(() => checkBody(req({ 'content-type': 'text/plain', 'content-length': '5' }), app))).toBe(
      ErrorCode.BAD_REQUEST.code,
    );
    expect(codeOf(() => checkBody(req({ 'content-length': '5' }), app))).toBe(ErrorCode.BAD_REQUEST.code);
  });
});

describe('idempotencyKey', () => {
  it('takes the header or the body key, refuses both when they differ', () => {
    expect(idempotencyKey(undefined, undefined)).toBeUndefined();
    expect(idempotencyKey('h', undefined)).toBe('h');
    expect(idempotencyKey(undefined, 'b')).toBe('b');
    expect(idempotencyKey('k', 'k')).toBe('k');
    expect(codeOf(() => idempotencyKey('a', 'b'))).toBe(ErrorCode.BAD_REQUEST.code);
    expect(codeOf(() => idempotencyKey('', undefined))).toBe(ErrorCode.BAD_REQUEST.code);
    expect(codeOf(() => idempotencyKey('k'.repeat(256), undefined))).toBe(ErrorCode.BAD_REQUEST.code);
  });
});

describe('checkBatchSize and requireUser', () => {
  it('answers limit_batch above 100 items only', () => {
    expect(codeOf(() => checkBatchSize({ channels: new Array(100).fill('c') }, 'channels'))).toBeUndefined();
    expect(codeOf(() => checkBatchSize({ channels: new Array(101).fill('c') }, 'channels'))).toBe(
      ErrorCode.LIMIT_BATCH.code,
    );
    expect(codeOf(() => checkBatchSize('not an object', 'channels'))).toBeUndefined();
  });

  it('validates user ids with the protocol grammar', () => {
    expect(requireUser('user-1@x')).toBe('user-1@x');
    for (const bad of ['', 'a b', 'a#b', 'a,b', 'u'.repeat(129)]) {
      expect(codeOf(() => requireUser(bad))).toBe(ErrorCode.BAD_REQUEST.code);
    }
  });
});

describe('parseBody and parseQuery', () => {
  it('returns the parsed value or throws bad_request with issues', () => {
    expect(parseBody(publishBody, { channel: 'c', data: null })).toEqual({ channel: 'c', data: null });
    try {
      parseBody(publishBody, { channel: '', data: 1, extra: 1 });
      throw new Error('should have thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(HeraldError);
      const e = err as HeraldError;
      expect(e.code).toBe(ErrorCode.BAD_REQUEST.code);
      expect(e.message).toMatch(/^invalid body: /);
      expect(e.details?.issues).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ path: 'channel' }),
          expect.objectContaining({ path: '' }),
        ]),
      );
    }
  });

  it('treats a missing body as {} so missing fields are named', () => {
    expect(() => parseBody(publishBody, undefined)).toThrow(/channel/);
  });

  it('coerces query strings', () => {
    expect(parseQuery(historyQuery, { limit: '0', reverse: 'false' })).toEqual({ limit: 0, reverse: false });
    expect(parseQuery(historyQuery, { since_offset: '4', since_epoch: 'e' })).toEqual({
      since_offset: 4,
      since_epoch: 'e',
    });
    expect(() => parseQuery(historyQuery, { since_offset: '4' })).toThrow(/since_offset and since_epoch/);
    expect(() => parseQuery(historyQuery, { limit: ['1', '2'] })).toThrow(HeraldError);
  });
});

describe('httpBodyLimit', () => {
  it('is the largest app body limit, at least 1 MiB', () => {
    const config = testConfig();
    expect(httpBodyLimit(config)).toBe(MIN_HTTP_BODY_LIMIT);
    config.apps[1].limits.maxBodyBytes = 5 * 1024 * 1024;
    expect(httpBodyLimit(config)).toBe(5 * 1024 * 1024);
  });
});
