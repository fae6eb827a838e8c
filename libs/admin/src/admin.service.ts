import { Inject, Injectable, Optional } from '@nestjs/common';
import { BUS, Topics, type Bus } from '@herald/bus';
import {
  CONTROL_ADMIN,
  CONTROL_CACHE,
  SQL_CONTROL,
  USAGE_STORE,
  utcDay,
  type ControlAdmin,
  type ControlCache,
  type SqlControl,
  type UsageStore,
} from '@herald/control';
import { encodeControl } from '@herald/core';
import { ErrorCode, HeraldError } from '@herald/protocol';

/**
 * The admin API's access to the control plane: ControlAdmin for the writes, and after every
 * successful change an `app_changed` message on the control topic, which every node's Hub turns
 * into a cache invalidation (and, for a disabled or deleted app, closing its connections). This
 * node's own cache is dropped directly as well, so a follow-up request here sees the change even
 * before the bus delivers.
 */
@Injectable()
export class AdminService {
  constructor(
    @Inject(BUS) private readonly bus: Bus,
    @Optional() @Inject(CONTROL_ADMIN) private readonly store?: ControlAdmin,
    @Optional() @Inject(CONTROL_CACHE) private readonly cache?: ControlCache,
    @Optional() @Inject(USAGE_STORE) private readonly usageStore?: UsageStore,
    @Optional() @Inject(SQL_CONTROL) private readonly sql?: SqlControl,
  ) {}

  /** Writes this node's pending usage counts, so a read right after activity includes them. */
  async flushUsage(): Promise<void> {
    await this.sql?.flusher.flush();
  }

  /** The store, or NOT_AVAILABLE when the node runs on the read-only config driver. */
  get admin(): ControlAdmin {
    if (!this.store) {
      throw new HeraldError(
        ErrorCode.NOT_AVAILABLE,
        'the admin API needs a SQL control store: set control.driver to pglite or postgres',
      );
    }
    return this.store;
  }

  get usage(): UsageStore {
    if (!this.usageStore) throw new HeraldError(ErrorCode.NOT_AVAILABLE, 'usage needs a SQL control store');
    return this.usageStore;
  }

  /** Runs a change, then announces it (only when it succeeded). */
  async change<T>(
    appId: string,
    work: (admin: ControlAdmin) => Promise<T>,
    options: { off?: boolean } = {},
  ): Promise<T> {
    const result = await work(this.admin);
    await this.announce(appId, options.off === true);
    return result;
  }

  async announce(appId: string, off: boolean): Promise<void> {
    this.cache?.invalidate(appId);
    await this.bus.publish(
      Topics.CONTROL,
      appId,
      encodeControl(off ? { k: 'app_changed', a: appId, off } : { k: 'app_changed', a: appId }),
    );
  }

  usagePeriod(from: string | undefined, to: string | undefined): { from: string; to: string } {
    const today = Date.now();
    const period = { from: from ?? utcDay(today - 30 * 86400_000), to: to ?? utcDay(today) };
    if (period.from > period.to) throw new HeraldError(ErrorCode.BAD_REQUEST, 'from is after to');
    return period;
  }
}
