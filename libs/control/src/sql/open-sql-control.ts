import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NodeConfig } from '@herald/config';
import { CachingControlStore } from '../caching.control-store.js';
import { loadMasterKey } from '../crypto/master-key.js';
import { SecretBox } from '../crypto/secret-box.js';
import { MemoryUsageMeter } from '../usage/memory.usage-meter.js';
import { UsageFlusher } from '../usage/usage-flusher.js';
import { PgliteSqlClient } from './drivers/pglite.sql-client.js';
import { PostgresSqlClient } from './drivers/postgres.sql-client.js';
import { migrate } from './migrations.js';
import type { SqlClient } from './sql-client.js';
import { SqlControlStore } from './sql.control-store.js';
import { SqlDeviceStore } from './sql.device-store.js';
import { SqlUsageStore } from './sql.usage-store.js';

/** Everything a node's SQL control plane is made of, opened once at start. */
export interface SqlControl {
  client: SqlClient;
  store: SqlControlStore;
  cache: CachingControlStore;
  devices: SqlDeviceStore;
  usage: SqlUsageStore;
  meter: MemoryUsageMeter;
  flusher: UsageFlusher;
  close(): Promise<void>;
}

export interface OpenSqlControlOptions {
  /** Environment the master key is read from (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** A master key given directly (tests); otherwise HERALD_MASTER_KEY, or the development key file. */
  masterKey?: Buffer;
  /** An already open client (tests); otherwise opened from config.control. */
  client?: SqlClient;
  now?: () => number;
  /** Where start-up notes go (warnings about generated development keys). Never receives secrets. */
  log?: (level: 'log' | 'warn', message: string) => void;
  /** Error reporting of background work (usage flushes, idle pool errors). */
  onError?: (what: string, err: unknown) => void;
}

/** PGlite keeps its files in a subdirectory, so dataDir can also hold the development keys. */
export const PGLITE_SUBDIR = 'pglite';

/**
 * Opens the SQL control plane: the client (PGlite under dataDir, or a PostgreSQL pool), the
 * migrations, the master key (refused when missing in production, or when it is not the key the
 * store was written with), the import of the config's apps (managed by file), the tenant cache and
 * the usage flusher. Anything failing closes what was opened and rejects: the node does not start.
 */
export async function openSqlControl(
  config: NodeConfig,
  options: OpenSqlControlOptions = {},
): Promise<SqlControl> {
  const log = options.log ?? (() => undefined);
  const onError = options.onError ?? (() => undefined);
  const dataDir = resolve(config.control.dataDir);
  let client = options.client;
  if (!client) {
    if (config.control.driver === 'postgres') {
      const url = config.control.postgresUrl;
      if (url === undefined) throw new Error('control.postgresUrl is required with driver postgres');
      client = new PostgresSqlClient(url, { onError: (err) => onError('postgres pool', err) });
    } else {
      mkdirSync(dataDir, { recursive: true });
      client = await PgliteSqlClient.open(join(dataDir, PGLITE_SUBDIR));
    }
  }
  try {
    await migrate(client);
    let key = options.masterKey;
    if (!key) {
      const source = loadMasterKey({
        env: options.env ?? process.env,
        production: config.env === 'production',
        dataDir,
      });
      if (source.origin === 'generated') {
        log(
          'warn',
          `generated a development master key in ${source.path}; set HERALD_MASTER_KEY in production`,
        );
      } else if (source.origin === 'file') {
        log(
          'warn',
          `using the development master key in ${source.path}; set HERALD_MASTER_KEY in production`,
        );
      }
      key = source.key;
    }
    const store = new SqlControlStore(client, new SecretBox(key), { now: options.now });
    await store.verifyMasterKey();
    if (config.apps.length > 0) {
      const { imported, removed } = await store.importConfigApps(config.apps);
      log('log', `imported ${imported.length} config app(s) into the control store (managed by file)`);
      if (removed.length > 0) {
        log('warn', `deleted file-managed app(s) no longer in the config: ${removed.join(', ')}`);
      }
    }
    const cache = new CachingControlStore(store, config.control.cacheTtlSeconds * 1000, options.now);
    const usage = new SqlUsageStore(client);
    const meter = new MemoryUsageMeter();
    const flusher = new UsageFlusher(
      meter,
      usage,
      config.nodeId,
      (err) => onError('usage flush', err),
      options.now,
    );
    flusher.start(config.control.usageFlushSeconds * 1000);
    const opened = client;
    return {
      client: opened,
      store,
      cache,
      devices: new SqlDeviceStore(opened),
      usage,
      meter,
      flusher,
      async close() {
        await flusher.stop();
        await opened.close();
      },
    };
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  }
}
