import { Writable } from 'node:stream';
import { Test } from '@nestjs/testing';
import { HeraldLogger, type LogLevel } from './logger.js';
import { ObservabilityModule } from './observability.module.js';

function capture(level: LogLevel = 'debug') {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  // pino writes synchronously to a plain stream's write(), so lines are there when the call returns.
  return { lines, logger: HeraldLogger.create({ level, destination, base: { node: 'n1' } }) };
}

describe('HeraldLogger', () => {
  it('writes one JSON line per event with level label, time, base fields and msg', () => {
    const { lines, logger } = capture();
    logger.log({ msg: 'listening', port: 8080 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', node: 'n1', msg: 'listening', port: 8080 });
    expect(typeof lines[0]['time']).toBe('string');
  });

  it('child loggers carry the app on every line', () => {
    const { lines, logger } = capture();
    const tenant = logger.child({ app: 'acme' });
    tenant.warn({ msg: 'slow consumer', conn: 'c1' });
    tenant.child({ channel: 'news' }).debug('subscribed');
    expect(lines[0]).toMatchObject({ level: 'warn', app: 'acme', conn: 'c1', msg: 'slow consumer' });
    expect(lines[1]).toMatchObject({ level: 'debug', app: 'acme', channel: 'news', msg: 'subscribed' });
  });

  it('redacts secrets and tokens at any of the first three levels', () => {
    const { lines, logger } = capture();
    logger.log({
      msg: 'app loaded',
      secret: 's1',
      token: 't1',
      app: { id: 'acme', secrets: ['s2'], publicKeys: [{ pem: 'p' }] },
      req: { headers: { authorization: 'Bearer s3' } },
      password: 'pw',
    });
    const line = JSON.stringify(lines[0]);
    for (const leaked of ['s1', 't1', 's2', 'Bearer s3', 'pw']) expect(line).not.toContain(leaked);
    expect(lines[0]).toMatchObject({
      secret: '[redacted]',
      token: '[redacted]',
      app: { id: 'acme', secrets: '[redacted]' },
      req: { headers: { authorization: '[redacted]' } },
    });
  });

  it("speaks Nest's LoggerService: context, stack, verbose", () => {
    const { lines, logger } = capture('debug');
    logger.log('Mapped {/x, GET} route', 'ControllerContext');
    logger.error('boom', 'Error: boom\n    at x (y.js:1:1)', 'ExceptionsHandler');
    logger.verbose('hidden at debug');
    logger.error(new Error('bad'));
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: 'Mapped {/x, GET} route',
      context: 'ControllerContext',
    });
    expect(lines[1]).toMatchObject({ level: 'error', msg: 'boom', context: 'ExceptionsHandler' });
    expect(lines[1]['stack']).toContain('at x');
    expect(lines[2]).toMatchObject({ level: 'error', msg: 'bad', err: { type: 'Error', message: 'bad' } });
    expect(lines).toHaveLength(3);
  });

  it("logs Nest's start-up chatter at debug", () => {
    const info = capture('info');
    info.logger.log('RestModule dependencies initialized', 'InstanceLoader');
    expect(info.lines).toHaveLength(0);
    const debug = capture('debug');
    debug.logger.log('RestModule dependencies initialized', 'InstanceLoader');
    expect(debug.lines[0]).toMatchObject({ level: 'debug', context: 'InstanceLoader' });
  });

  it('honours the level, and silent writes nothing', () => {
    const warn = capture('warn');
    warn.logger.log('info line');
    warn.logger.warn('warn line');
    expect(warn.lines.map((l) => l['msg'])).toEqual(['warn line']);
    const silent = capture('silent');
    silent.logger.error('nothing');
    expect(silent.lines).toEqual([]);
  });
});

describe('ObservabilityModule', () => {
  it('provides a HeraldLogger at the configured level', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ObservabilityModule.forRoot('error')],
    }).compile();
    const logger = moduleRef.get(HeraldLogger);
    expect(logger).toBeInstanceOf(HeraldLogger);
    expect(logger.isLevelEnabled('warn')).toBe(false);
    expect(logger.isLevelEnabled('error')).toBe(true);
    await moduleRef.close();
  });
});
