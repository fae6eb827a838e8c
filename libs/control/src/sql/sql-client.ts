/**
 * The little of SQL the repositories need, over PGlite and node-postgres alike: parameterised
 * queries (`$1`, `$2`: never string-built SQL) and transactions. Both drivers speak PostgreSQL, so
 * one dialect and one set of migrations serve the embedded node and the cluster.
 */
export type SqlValue = string | number | boolean | null | Date | Buffer | string[] | Record<string, unknown>;

export interface SqlQueryable {
  query<R extends object>(sql: string, params?: readonly SqlValue[]): Promise<R[]>;
}

export interface SqlClient extends SqlQueryable {
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  /** Whether the database answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
