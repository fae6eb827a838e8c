import {
  ALL_DISCONNECTS,
  ALL_ERRORS,
  DisconnectCode,
  ErrorCode,
  HeraldError,
  decodeFrames,
  isValidUserId,
  parseChannel,
  personalChannel,
  shouldReconnect,
} from './index.js';

describe('code catalogue', () => {
  it('has unique codes and names in their documented ranges', () => {
    const codes = ALL_ERRORS.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(new Set(ALL_ERRORS.map((e) => e.name)).size).toBe(codes.length);
    for (const e of ALL_ERRORS) expect(e.code >= 100 && e.code < 500).toBe(true);
    const dcodes = ALL_DISCONNECTS.map((d) => d.code);
    expect(new Set(dcodes).size).toBe(dcodes.length);
    for (const d of ALL_DISCONNECTS) {
      expect(d.code >= 3000 && d.code < 4000).toBe(true);
      expect(d.reconnect).toBe(d.code < 3500);
      expect(Buffer.byteLength(d.reason)).toBeLessThanOrEqual(123); // WebSocket close reason limit
    }
  });

  it('tells reconnect from terminal, also for unknown codes', () => {
    expect(shouldReconnect(DisconnectCode.SLOW.code)).toBe(true);
    expect(shouldReconnect(DisconnectCode.INVALID_TOKEN.code)).toBe(false);
    expect(shouldReconnect(3499)).toBe(true);
    expect(shouldReconnect(3999)).toBe(false);
    expect(shouldReconnect(4600)).toBe(false);
    expect(shouldReconnect(1006)).toBe(true);
    expect(shouldReconnect(1009)).toBe(false);
  });
});

describe('decodeFrames', () => {
  it('decodes several newline-separated commands', () => {
    const frames = decodeFrames(
      '{"id":1,"cmd":"connect","token":"t"}\n{"id":2,"cmd":"subscribe","channel":"a"}\n{"cmd":"pong"}',
    );
    expect(frames.map((f) => f.command?.cmd)).toEqual(['connect', 'subscribe', 'pong']);
  });

  it.each([
    ['not json', 'x{', ErrorCode.BAD_REQUEST, undefined],
    ['array', '[1]', ErrorCode.BAD_REQUEST, undefined],
    ['unknown command', '{"id":3,"cmd":"fly"}', ErrorCode.METHOD_NOT_FOUND, 3],
    ['no id', '{"cmd":"subscribe","channel":"a"}', ErrorCode.BAD_REQUEST, undefined],
    ['bad id', '{"id":-1,"cmd":"subscribe","channel":"a"}', ErrorCode.BAD_REQUEST, undefined],
    ['no channel', '{"id":4,"cmd":"subscribe"}', ErrorCode.BAD_REQUEST, 4],
    [
      'bad recover',
      '{"id":5,"cmd":"subscribe","channel":"a","recover":{"offset":-1,"epoch":"x"}}',
      ErrorCode.BAD_REQUEST,
      5,
    ],
    ['publish without data', '{"id":6,"cmd":"publish","channel":"a"}', ErrorCode.BAD_REQUEST, 6],
    ['bad history limit', '{"id":7,"cmd":"history","channel":"a","limit":-5}', ErrorCode.BAD_REQUEST, 7],
    ['refresh without token', '{"id":8,"cmd":"refresh"}', ErrorCode.BAD_REQUEST, 8],
  ])('reports %s with its code and the id when usable', (_name, text, def, id) => {
    const [frame] = decodeFrames(text);
    expect(frame.error).toBeInstanceOf(HeraldError);
    expect(frame.error?.def).toBe(def);
    expect(frame.error?.details?.id).toBe(id);
  });
});

describe('channel grammar', () => {
  it.each([
    ['chat', { namespace: '' }],
    ['chat:lobby', { namespace: 'chat' }],
    ['#42', { namespace: '', users: ['42'] }],
    ['dm:dialog#42,43', { namespace: 'dm', users: ['42', '43'] }],
  ])('parses %s', (channel, expected) => {
    expect(parseChannel(channel)).toMatchObject({ channel, ...expected });
  });

  it.each(['', ':a', 'a:', 'a b', 'é', 'a/b', 'x'.repeat(256), 'a#', 'a#1,,2'])('rejects %j', (channel) => {
    expect(parseChannel(channel)).toBeUndefined();
  });

  it('builds personal channels from valid user ids only', () => {
    expect(personalChannel('42')).toBe('#42');
    expect(isValidUserId('user@example.com')).toBe(true);
    expect(isValidUserId('a,b')).toBe(false);
    expect(isValidUserId('')).toBe(false);
    expect(isValidUserId('x'.repeat(129))).toBe(false);
  });
});
