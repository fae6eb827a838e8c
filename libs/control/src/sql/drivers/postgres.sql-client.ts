import pg from 'pg';
import type { SqlClient, SqlQueryable, SqlValue } from '../sql-client.js';

/**
 * SqlClient over node-postgres: a pool shared by the process. The connection URL carries the
 * password, so it is never logged and pool errors are reported without it.
 */
export class PostgresSqlClient implements SqlClient {
  private readonly pool: pg.Pool;

  constructor(url: string, options: { max?: number; onError?: (err: Error) => void } = {}) {
    this.pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', (err) => options.onError?.(err));
  }

  async query<R extends object>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
    return (await this.pool.query<R>(sql, toParams(params))).rows;
  }

  async transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work({
        query: async <R extends object>(sql: string, params: readonly SqlValue[] = []) =>
          (await client.query<R>(sql, toParams(params))).rows,
      });
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function toParams(params: readonly SqlValue[]): unknown[] {
  return params.map((p) =>
    p !== null && typeof p === 'object' && !(p instanceof Date) && !Buffer.isBuffer(p) && !Array.isArray(p)
      ? JSON.stringify(p)
      : p,
  );
}
