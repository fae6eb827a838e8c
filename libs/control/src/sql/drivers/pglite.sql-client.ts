import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import type { SqlClient, SqlQueryable, SqlValue } from '../sql-client.js';

/**
 * SqlClient over PGlite: PostgreSQL compiled to WASM, in this process, files under `dataDir`
 * (memory when undefined; tests). PGlite runs one query at a time, and its `transaction` holds the
 * connection for the whole transaction, so concurrent callers queue instead of interleaving.
 * One process at a time may open a data directory.
 */
/**
 * The control plane is a few hundred rows read through a cache, so PostgreSQL's defaults (128 MB of
 * shared buffers sized for 100 connections) only cost memory: measured on a migrated data directory,
 * a standalone node settled at ~345 MB RSS with them and 230 MB with these (PGlite runs one backend in single-user mode).
 */
const SMALL_SERVER = ['-c', 'shared_buffers=16MB', '-c', 'max_connections=4'];

export class PgliteSqlClient implements SqlClient {
  private constructor(private readonly db: PGlite) {}

  static async open(
    dataDir: string | undefined,
    options: { loadDataDir?: Blob } = {},
  ): Promise<PgliteSqlClient> {
    if (dataDir !== undefined && !options.loadDataDir && !existsSync(join(dataDir, 'PG_VERSION')))
      await initDataDirInWorker(dataDir);
    const db = await PGlite.create({
      dataDir,
      startParams: [...PGlite.defaultStartParams, ...SMALL_SERVER],
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

/**
 * initdb grows PGlite's WASM memory to ~700 MB, which a process never returns; run in a worker
 * thread, it is returned when the worker exits (first start of `npm start` measured at 749 MB RSS in-process, 371 MB this way).
 */
function initDataDirInWorker(dataDir: string): Promise<void> {
  // The worker's code is evaluated, so a bare specifier would resolve from the process's working
  // directory; PGlite is resolved here, from this module, and loaded by absolute path instead.
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const code = `
    const { workerData } = require('node:worker_threads');
    const { PGlite } = require(workerData.pglite);
    PGlite.create({ dataDir: workerData.dataDir, startParams: workerData.startParams }).then((db) => db.close());`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, {
      eval: true,
      workerData: { dataDir, pglite, startParams: [...PGlite.defaultStartParams, ...SMALL_SERVER] },
    });
    worker.once('error', reject);
    worker.once('exit', (exitCode) =>
      exitCode === 0 ? resolve() : reject(new Error(`PGlite initdb in ${dataDir} failed (exit ${exitCode})`)),
    );
  });
}

/** JSON values go in as text; PGlite would otherwise serialise objects itself, inconsistently with pg. */
function toParams(params: readonly SqlValue[]): unknown[] {
  return params.map((p) =>
    p !== null && typeof p === 'object' && !(p instanceof Date) && !Buffer.isBuffer(p) && !Array.isArray(p)
      ? JSON.stringify(p)
      : p,
  );
}
