import { Inject, Logger, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { NODE_CONFIG, type NodeConfig } from '@herald/config';
import { CONTROL_CACHE } from './caching.control-store.js';
import { CONTROL_ADMIN } from './control-admin.js';
import { CONTROL_STORE } from './control-store.js';
import { DEVICE_STORE, PUSH_DEAD_LETTER_STORE } from './device-store.js';
import { ConfigControlStore } from './memory/config.control-store.js';
import { openSqlControl, type OpenSqlControlOptions, type SqlControl } from './sql/open-sql-control.js';
import { MemoryUsageMeter } from './usage/memory.usage-meter.js';
import { USAGE_METER, USAGE_STORE } from './usage/usage.js';
import { UsageMetrics } from './usage/usage-metrics.js';

export interface ControlModuleOptions {
  /**
   * `config`: the apps of the node config, read-only (no ControlAdmin); `pglite` / `postgres`: the
   * SQL store (settings from `control` in NODE_CONFIG). ConfigModule must be imported.
   */
  driver: 'config' | 'pglite' | 'postgres';
  /** Test seams of the SQL drivers (master key, clock, an open client). */
  sql?: Omit<OpenSqlControlOptions, 'log' | 'onError'>;
}

/** Injection token of the opened SqlControl (SQL drivers only). */
export const SQL_CONTROL = Symbol('SqlControl');

/** Flushes usage and closes the database after every other module has stopped using it. */
class SqlControlLifecycle implements OnApplicationShutdown {
  constructor(@Inject(SQL_CONTROL) private readonly control: SqlControl) {}

  async onApplicationShutdown(): Promise<void> {
    await this.control.close();
  }
}

/**
 * Provides CONTROL_STORE (cached on SQL drivers), USAGE_METER, and with SQL drivers CONTROL_ADMIN,
 * CONTROL_CACHE, DEVICE_STORE, PUSH_DEAD_LETTER_STORE and USAGE_STORE; globally.
 */
@Module({})
export class ControlModule {
  static forRoot(options: ControlModuleOptions = { driver: 'config' }): DynamicModule {
    switch (options.driver) {
      case 'config':
        return {
          module: ControlModule,
          global: true,
          providers: [
            {
              provide: CONTROL_STORE,
              useFactory: (config: NodeConfig) => new ConfigControlStore(config.apps),
              inject: [NODE_CONFIG],
            },
            { provide: USAGE_METER, useValue: new MemoryUsageMeter() },
            UsageMetrics,
          ],
          exports: [CONTROL_STORE, USAGE_METER],
        };
      case 'pglite':
      case 'postgres': {
        const log = new Logger('ControlStore');
        const from = (pick: (c: SqlControl) => unknown) => ({
          useFactory: pick,
          inject: [SQL_CONTROL],
        });
        return {
          module: ControlModule,
          global: true,
          providers: [
            {
              provide: SQL_CONTROL,
              useFactory: (config: NodeConfig) =>
                openSqlControl(
                  { ...config, control: { ...config.control, driver: options.driver } },
                  {
                    ...options.sql,
                    log: (level, message) => (level === 'warn' ? log.warn(message) : log.log(message)),
                    // Only the error's message: driver errors never carry the URL or secrets, but stacks
                    // of wrapped errors can be long and repetitive at every flush interval.
                    onError: (what, err) => log.error({ msg: `${what} failed`, err: String(err) }),
                  },
                ),
              inject: [NODE_CONFIG],
            },
            { provide: CONTROL_STORE, ...from((c) => c.cache) },
            { provide: CONTROL_CACHE, ...from((c) => c.cache) },
            { provide: CONTROL_ADMIN, ...from((c) => c.store) },
            { provide: DEVICE_STORE, ...from((c) => c.devices) },
            { provide: PUSH_DEAD_LETTER_STORE, ...from((c) => c.devices) },
            { provide: USAGE_STORE, ...from((c) => c.usage) },
            { provide: USAGE_METER, ...from((c) => c.meter) },
            UsageMetrics,
            SqlControlLifecycle,
          ],
          exports: [
            SQL_CONTROL,
            CONTROL_STORE,
            CONTROL_CACHE,
            CONTROL_ADMIN,
            DEVICE_STORE,
            PUSH_DEAD_LETTER_STORE,
            USAGE_STORE,
            USAGE_METER,
          ],
        };
      }
    }
  }
}
