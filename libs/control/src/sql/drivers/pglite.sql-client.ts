import { PGlite } from '@electric-sql/pglite';
import type { SqlClient, SqlQueryable, SqlValue } from '../sql-client.js';

/**
 * SqlClient over PGlite: PostgreSQL compiled to WASM, in this process, files under `dataDir`
 * (memory when undefined; tests). PGlite runs one query at a time, and its `transaction` holds the
 * connection for the whole transaction, so concurrent callers queue instead of interleaving.
 * One process at a time may open a data directory.
 */
export class PgliteSqlClient implements SqlClient {
  private constructor(private readonly db: PGlite) {}

  static async open(
    dataDir: string | undefined,
    options: { loadDataDir?: Blob } = {},
  ): Promise<PgliteSqlClient> {
    const db = await PGlite.create({
      dataDir,
      ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    });
    return new PgliteSqlClient(db);
  }

  async query<R extends object>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
    return (await this.db.query<R>(sql, toParams(params))).rows;
  }

  transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) =>
      work({
        query: async <R extends object>(sql: string, params: readonly SqlValue[] = []) =>
          (await tx.query<R>(sql, toParams(params))).rows,
      }),
    );
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1');
  }

  /** A copy of the database files (tests clone a migrated template instead of re-running initdb). */
  dump(): Promise<Blob> {
    return this.db.dumpDataDir('none') as Promise<Blob>;
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }
}

/** JSON values go in as text; PGlite would otherwise serialise objects itself, inconsistently with pg. */
function toParams(params: readonly SqlValue[]): unknown[] {
  return params.map((p) =>
    p !== null && typeof p === 'object' && !(p instanceof Date) && !Buffer.isBuffer(p) && !Array.isArray(p)
      ? JSON.stringify(p)
      : p,
  );
}
