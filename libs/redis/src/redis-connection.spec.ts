import { createServer, type AddressInfo } from 'node:net';
import { ReplyError } from 'ioredis';
import { OutageProxy } from '@herald/redis/testing';
import { describeWithService, uniqueId, waitFor } from '@herald/testing';
import {
  acquireRedisConnection,
  isRedisUnavailable,
  RedisConnection,
  RedisUnavailableError,
  toRedisError,
} from './redis-connection.js';
import { RedisScript } from './redis-script.js';

/** A loopback port with nothing listening on it (chosen by the kernel, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** How long `fn` took to reject, and with what. */
async function timeRejection(fn: () => Promise<unknown>): Promise<{ ms: number; err: unknown }> {
  const start = Date.now();
  try {
    await fn();
  } catch (err) {
    return { ms: Date.now() - start, err };
  }
  throw new Error('expected a rejection');
}

describe('RedisConnection without a server', () => {
  it('fails every call within the command timeout against a closed port, and holds nothing', async () => {
    const connection = new RedisConnection({
      url: `redis://127.0.0.1:${await closedPort()}`,
      connectTimeoutMs: 200,
      commandTimeoutMs: 300,
    });
    try {
      const calls = Array.from({ length: 200 }, () => timeRejection(() => connection.run((c) => c.ping())));
      const results = await Promise.all(calls);
      for (const { ms, err } of results) {
        expect(isRedisUnavailable(err)).toBe(true);
        expect(ms).toBeLessThan(1500);
      }
      // Nothing queued inside ioredis for later: the offline queue is disabled.
      expect(connection.client.options.enableOfflineQueue).toBe(false);
    } finally {
      await connection.close();
    }
  });

  it('rejects calls after close', async () => {
    const connection = new RedisConnection({ url: `redis://127.0.0.1:${await closedPort()}` });
    await connection.close();
    await expect(connection.run((c) => c.ping())).rejects.toBeInstanceOf(RedisUnavailableError);
  });

  it('maps transport failures and "cannot serve now" replies to RedisUnavailableError', () => {
    const Reply = ReplyError as new (message: string) => Error;
    expect(isRedisUnavailable(toRedisError(new Error('Command timed out')))).toBe(true);
    expect(isRedisUnavailable(toRedisError(new Reply('LOADING Redis is loading the dataset')))).toBe(true);
    expect(isRedisUnavailable(toRedisError(new Reply('READONLY You can not write against a replica')))).toBe(
      true,
    );
    const bug = new Reply('WRONGTYPE Operation against a key holding the wrong kind of value');
    expect(toRedisError(bug)).toBe(bug);
  });
});

describeWithService('redis', 'RedisConnection', (url) => {
  it('shares one connection per options and closes it with the last release', async () => {
    const a = acquireRedisConnection({ url, keyPrefix: 'share-test:' });
    const b = acquireRedisConnection({ url, keyPrefix: 'share-test:' });
    const other = acquireRedisConnection({ url, keyPrefix: 'share-other:' });
    expect(a.connection).toBe(b.connection);
    expect(other.connection).not.toBe(a.connection);
    expect(await a.connection.run((c) => c.ping())).toBe('PONG');
    await a.release();
    await a.release(); // idempotent: does not take b's hold
    expect(await b.connection.run((c) => c.ping())).toBe('PONG');
    await b.release();
    await expect(b.connection.run((c) => c.ping())).rejects.toBeInstanceOf(RedisUnavailableError);
    await other.release();
  });

  it('passes real error replies through unchanged', async () => {
    const connection = new RedisConnection({ url });
    try {
      const err: unknown = await connection
        .run((c) => c.eval('return redis.call("NOSUCHCOMMAND")', 0))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(isRedisUnavailable(err)).toBe(false);
    } finally {
      await connection.close();
    }
  });

  it('runs a script again after Redis lost its script cache (as after a restart)', async () => {
    const connection = new RedisConnection({ url });
    try {
      const echo = new RedisScript('test.echo', `return ARGV[1] .. '${uniqueId('s')}'`);
      const first = await connection.run((c) => echo.run(c, [], ['x']));
      await connection.run((c) => c.script('FLUSH'));
      expect(await connection.run((c) => echo.run(c, [], ['x']))).toBe(first);
    } finally {
      await connection.close();
    }
  });

  describe('through an outage', () => {
    let proxy: OutageProxy;
    let connection: RedisConnection;
    beforeEach(async () => {
      proxy = await OutageProxy.start(url);
      connection = new RedisConnection({ url: proxy.url, connectTimeoutMs: 300, commandTimeoutMs: 300 });
      expect(await connection.run((c) => c.ping())).toBe('PONG');
    });
    afterEach(async () => {
      await connection.close();
      await proxy.close();
    });

    it('fails fast while Redis refuses connections, then resumes on its own', async () => {
      proxy.setMode('down');
      const failures = await Promise.all(
        Array.from({ length: 100 }, () => timeRejection(() => connection.run((c) => c.ping()))),
      );
      for (const { ms, err } of failures) {
        expect(isRedisUnavailable(err)).toBe(true);
        expect(ms).toBeLessThan(1500);
      }
      proxy.setMode('up');
      await waitFor(async () => (await connection.run((c) => c.ping()).catch(() => 'down')) === 'PONG', {
        timeoutMs: 10_000,
        message: 'reconnect',
      });
    }, 20_000);

    it('times out calls while Redis is frozen, and answers correctly once it thaws', async () => {
      proxy.setMode('stall');
      const { ms, err } = await timeRejection(() => connection.run((c) => c.set('outage-test', 'x')));
      expect(isRedisUnavailable(err)).toBe(true);
      expect(ms).toBeGreaterThanOrEqual(250);
      expect(ms).toBeLessThan(1500);
      proxy.setMode('up');
      await waitFor(async () => (await connection.run((c) => c.echo('probe')).catch(() => '')) === 'probe', {
        timeoutMs: 10_000,
      });
      expect(await connection.run((c) => c.echo('after'))).toBe('after');
    }, 20_000);
  });
});
