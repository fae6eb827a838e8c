import type { UsageDay, UsageDelta, UsageStore } from '../usage/usage.js';
import { UsageRepository } from './repositories/usage.repository.js';
import type { SqlClient } from './sql-client.js';

/** UsageStore on SQL: one row per (app, day, node); see UsageStore. */
export class SqlUsageStore implements UsageStore {
  private readonly usage = new UsageRepository();

  constructor(private readonly db: SqlClient) {}

  async record(nodeId: string, day: string, deltas: readonly UsageDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (const d of deltas) await this.usage.add(tx, nodeId, day, d);
    });
  }

  read(appId: string, from: string, to: string): Promise<UsageDay[]> {
    return this.usage.read(this.db, appId, from, to);
  }
}
