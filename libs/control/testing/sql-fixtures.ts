/**
 * Databases for control-plane tests. Why they exist: every suite needs an empty, migrated store and
 * suites must not see each other's rows (config import deletes file-managed apps it does not know).
 * - PGlite: initdb in WASM takes seconds, so the first call builds a migrated template and later
 *   calls clone its files (well under a second). Each clone lives in its own temp directory.
 * - PostgreSQL: one fresh database per call on the server the infra script started, dropped after.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate, PgliteSqlClient, PostgresSqlClient, type SqlClient } from '@herald/control';

let template: Promise<Blob> | undefined;

async function buildTemplate(): Promise<Blob> {
  const client = await PgliteSqlClient.open(undefined);
  try {
    await migrate(client);
    return await client.dump();
  } finally {
    await client.close();
  }
}

export interface TestDatabase {
  client: SqlClient;
  /** Opens another client on the same database (a second node, or the same node restarted). */
  reopen(): Promise<SqlClient>;
  /** Closes the clients opened here and removes the database. */
  drop(): Promise<void>;
}

/** A migrated PGlite database in a fresh temp directory. */
export async function createPgliteDatabase(): Promise<TestDatabase> {
  template ??= buildTemplate();
  const dir = mkdtempSync(join(tmpdir(), 'herald-pglite-'));
  const dataDir = join(dir, 'pglite');
  const clients: SqlClient[] = [await PgliteSqlClient.open(dataDir, { loadDataDir: await template })];
  return {
    client: clients[0],
    async reopen() {
      // PGlite allows one open instance per directory: close the others first.
      for (const c of clients) await c.close();
      const client = await PgliteSqlClient.open(dataDir);
      clients.push(client);
      return client;
    },
    async drop() {
      for (const c of clients) await c.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh database on the PostgreSQL server at `serverUrl`. */
export async function createPostgresDatabase(serverUrl: string): Promise<TestDatabase & { url: string }> {
  const name = `herald_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const clients: SqlClient[] = [new PostgresSqlClient(url.toString(), { max: 4 })];
  await migrate(clients[0]);
  return {
    url: url.toString(),
    client: clients[0],
    async reopen() {
      const client = new PostgresSqlClient(url.toString(), { max: 4 });
      clients.push(client);
      return client;
    },
    async drop() {
      for (const c of clients) await c.close().catch(() => undefined);
      const dropper = new pg.Client({ connectionString: serverUrl });
      await dropper.connect();
      try {
        await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}
