import { createHash, randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Topics, type Bus, type BusRecord, type BusSubscription } from '@herald/bus';
import type { PushConfig } from '@herald/config';
import type {
  DevicePlatform,
  DeviceRecord,
  DeviceStore,
  PushDeadLetterStore,
  UsageMeter,
} from '@herald/control';
import type { PresenceRegistry } from '@herald/presence';
import { encodeEventRecord, eventKey, type WebhookEvent } from '@herald/webhooks';
import { pushBackoff } from './backoff.js';
import type { PushMetrics } from './metrics.js';
import {
  PUSH_DLQ_TOPIC,
  decodePushJob,
  deviceKey,
  encodePushJob,
  pushJobKey,
  type PushJob,
} from './push-job.js';
import type { PushStateStore } from './push-state-store.js';
import type { PushFailureReason, PushSender, SendOutcome } from './senders/push-sender.js';

export const PUSH_CONSUMER_GROUP = 'herald.push';

/**
 * Longest Retry-After honoured (1 h): a provider asking for more gets the job dead-lettered with the
 * failure's reason (replay it later through the admin API). See docs/push.md.
 */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** How often the scheduler looks for due parked jobs (ms). */
export const SCHEDULER_INTERVAL_MS = 250;

/** Parked jobs moved back onto the Bus per claim (a tick claims again while batches come back full). */
const SCHEDULER_BATCH = 100;
/** Claims per scheduler tick at most (bounded loop). */
const SCHEDULER_ROUNDS = 10;
/** A claimed parked job is handed out again after this long if its claimer died before republishing it. */
const PARK_LEASE_MS = 30_000;

export interface PushDispatcherDeps {
  bus: Bus;
  presence: PresenceRegistry;
  devices: DeviceStore;
  deadLetters: PushDeadLetterStore;
  state: PushStateStore;
  senders: Record<DevicePlatform, PushSender>;
  config: PushConfig;
  metrics: PushMetrics;
  usage?: UsageMeter;
  /** The dispatcher's clock (due times, Retry-After, lag); injectable for tests. */
  now?: () => number;
  random?: () => number;
  /** Scheduler period (default SCHEDULER_INTERVAL_MS); 0 turns the timer off (tests call `releaseDue`). */
  schedulerIntervalMs?: number;
}

export interface PushOutcomeReport {
  app: string;
  user: string;
  messageId: string;
  /** `platform:token`, absent for job-level outcomes (skipped, dead-lettered). */
  device?: string;
  /** `parked`: the job waits in the state store for its time (an `unacked` delay, a retry's backoff). */
  outcome: 'sent' | 'duplicate' | 'pruned' | 'retry' | 'failed' | 'skipped' | 'dead_lettered' | 'parked';
  reason?: string;
}

/**
 * The push dispatcher: consumes `herald.push` as the `herald.push` consumer group (one member per
 * partition at most, so one user's jobs are handled in order by one dispatcher), and for each job:
 *
 * 1. parks it in the PushStateStore if its time has not come (an `unacked` job's delay): the handler
 *    never waits for a future time, so one user's or app's waiting job never holds the partition;
 * 2. applies the policy at send time: `offline` asks the PresenceRegistry whether the user is
 *    online, `unacked` whether a live connection acknowledged the message; `always` sends;
 * 3. sends to each of the user's devices through the app's own long-lived APNs / FCM client, once
 *    per (message, device) (PushStateStore claims and send records);
 * 4. deletes tokens the provider reports dead, parks temporary failures for a retry with backoff
 *    that honours Retry-After (up to MAX_RETRY_AFTER_MS), and dead-letters the job after
 *    `maxAttempts` or on a permanent failure.
 *
 * The scheduler (every replica runs one) claims due parked jobs atomically in the state store and
 * publishes them back onto `herald.push` marked `due`; each is claimed by one replica, and a replica
 * that dies between claim and publish leaves it to be claimed again after PARK_LEASE_MS.
 *
 * The record is committed when the handler resolves (at-least-once); a killed dispatcher's jobs are
 * handled again by the next member, and the send records keep that from pushing twice. A handler
 * waits only for the provider requests, each bounded by `requestTimeoutMilliseconds`.
 */
export class PushDispatcher {
  private readonly log = new Logger('PushDispatcher');
  private subscription?: BusSubscription;
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<unknown>;
  private stopped = false;
  private readonly now: () => number;
  private readonly random: () => number;
  /** Called with every outcome, after its metrics and events are recorded (tests, diagnostics). */
  readonly listeners = new Set<(o: PushOutcomeReport) => void>();

  constructor(private readonly d: PushDispatcherDeps) {
    this.now = d.now ?? Date.now;
    this.random = d.random ?? Math.random;
  }

  async start(): Promise<void> {
    this.subscription = await this.d.bus.subscribe(Topics.PUSH, { group: PUSH_CONSUMER_GROUP }, (r) =>
      this.onRecord(r),
    );
    const every = this.d.schedulerIntervalMs ?? SCHEDULER_INTERVAL_MS;
    if (every > 0) {
      this.timer = setInterval(() => {
        if (this.ticking || this.stopped) return;
        this.ticking = this.releaseDue()
          .catch((err: unknown) =>
            this.log.error({ msg: 'push scheduler failed; retrying next tick', err: String(err) }),
          )
          .finally(() => (this.ticking = undefined));
      }, every);
      this.timer.unref();
    }
  }

  /** Stops the scheduler and consuming; sends in flight finish first. Parked jobs stay parked. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    await this.subscription?.close();
    await Promise.all([this.d.senders.apns.close(), this.d.senders.fcm.close()]);
  }

  private async onRecord(r: BusRecord): Promise<void> {
    const job = decodePushJob(r.value);
    if (!job) {
      this.log.warn({ msg: 'undecodable push job skipped', key: r.key });
      return;
    }
    if (r.key !== pushJobKey(job.app, job.user)) {
      // The key names the tenant the producer resolved; a job claiming another app is refused.
      this.log.warn({ msg: 'push job key does not match its app and user; skipped', app: job.app });
      return;
    }
    try {
      await this.handle(job);
    } catch (err) {
      // Store or bus failure: rethrow so the record is not committed and is handled again.
      this.log.error({ msg: 'push job failed; it will be retried', app: job.app, err: String(err) });
      throw err;
    }
  }

  /** Handles one job (the Bus handler; also called directly by tests). */
  async handle(job: PushJob): Promise<void> {
    const { state, config, metrics } = this.d;
    const wakeAt = job.due
      ? 0
      : Math.max(
          job.notBefore ?? 0,
          job.policy === 'unacked' && !job.replay
            ? job.at + (job.delayMs ?? config.unackedDelayMilliseconds)
            : 0,
        );
    if (wakeAt > this.now()) return this.park(job, wakeAt);
    if (job.attempt === 0) metrics.lag.set({ app: job.app }, Math.max(0, this.now() - job.at));

    if (!job.replay) {
      if (job.policy === 'offline' && (await this.d.presence.isUserOnline(job.app, job.user)))
        return this.skip(job, 'online');
      if (job.policy === 'unacked' && (await state.isAcked(job.app, job.user, job.id)))
        return this.skip(job, 'acked');
    }

    let devices = await this.d.devices.listDevices(job.app, job.user);
    if (job.devices) {
      const only = new Set(job.devices);
      devices = devices.filter((dv) => only.has(deviceKey(dv.platform, dv.token)));
    }
    if (devices.length === 0) return this.skip(job, 'no_devices');

    const results = await Promise.all(devices.map((dv) => this.sendOne(job, dv)));
    const retry = results.filter((x) => x.outcome?.kind === 'retry' || x.busy);
    const failed = results.filter((x) => x.outcome?.kind === 'failed');
    if (failed.length > 0) {
      const first = failed[0].outcome as Extract<SendOutcome, { kind: 'failed' }>;
      await this.deadLetter(
        job,
        failed.map((x) => x.key),
        first.reason,
        first.detail,
      );
    }
    if (retry.length === 0) return;
    // Devices only busy (another dispatcher's claim, e.g. one killed mid-send whose claim has not
    // expired yet) are not failures: wait and look again without spending an attempt.
    const onlyBusy = retry.every((x) => x.busy);
    const attempt = onlyBusy ? job.attempt : job.attempt + 1;
    const last = retry.find((x) => x.outcome?.kind === 'retry')?.outcome as
      Extract<SendOutcome, { kind: 'retry' }> | undefined;
    const keys = retry.map((x) => x.key);
    if (!onlyBusy && attempt >= config.maxAttempts) {
      await this.deadLetter(job, keys, 'retries_exhausted', last?.detail ?? 'device busy');
      return;
    }
    const retryAfterMs = Math.max(
      0,
      ...retry.map((x) => (x.outcome?.kind === 'retry' ? (x.outcome.retryAfterMs ?? 0) : 0)),
    );
    if (retryAfterMs > MAX_RETRY_AFTER_MS && last) {
      await this.deadLetter(
        job,
        keys,
        last.reason,
        `${last.detail}; Retry-After ${Math.ceil(retryAfterMs / 1000)} s is over the ${MAX_RETRY_AFTER_MS / 1000} s maximum`,
      );
      return;
    }
    const delay = onlyBusy
      ? config.backoffMaxMilliseconds
      : pushBackoff(attempt, {
          initialMs: config.backoffInitialMilliseconds,
          maxMs: config.backoffMaxMilliseconds,
          retryAfterMs,
          random: this.random,
        });
    const { due: _due, ...rest } = job;
    const next: PushJob = { ...rest, attempt, notBefore: this.now() + delay, devices: keys };
    await this.park(next, next.notBefore as number);
    metrics.retried.inc({ app: job.app });
  }

  /**
   * Parks a job until `dueAt`. Its id is derived from (message, attempt, due time, devices), so a
   * redelivered record parks the same entry once.
   */
  private async park(job: PushJob, dueAt: number): Promise<void> {
    const id = createHash('sha256')
      .update(`${job.id}\u0000${job.attempt}\u0000${dueAt}\u0000${(job.devices ?? []).join(',')}`)
      .digest('base64url')
      .slice(0, 22);
    await this.d.state.park(job.app, id, dueAt, encodePushJob(job).toString('utf8'));
    this.report(job, undefined, 'parked');
  }

  /**
   * One scheduler pass: claims due parked jobs (atomically: each by one replica) and publishes them
   * back onto `herald.push`, marked `due`. Returns how many were moved. Called by the timer; tests
   * call it directly after moving their clock.
   */
  async releaseDue(): Promise<number> {
    const { state, bus } = this.d;
    let moved = 0;
    for (let round = 0; round < SCHEDULER_ROUNDS; round++) {
      const claimed = await state.claimDue(this.now(), SCHEDULER_BATCH, PARK_LEASE_MS);
      for (const c of claimed) {
        const job = decodePushJob(Buffer.from(c.job, 'utf8'));
        if (job && job.app === c.appId) {
          await bus.publish(Topics.PUSH, pushJobKey(job.app, job.user), encodePushJob({ ...job, due: true }));
          moved++;
        } else {
          this.log.warn({ msg: 'undecodable parked push job dropped', app: c.appId });
        }
        await state.unpark(c.appId, c.id, c.lease);
      }
      if (claimed.length < SCHEDULER_BATCH) break;
    }
    return moved;
  }

  private async sendOne(
    job: PushJob,
    device: DeviceRecord,
  ): Promise<{ key: string; outcome?: SendOutcome; busy?: boolean }> {
    const { state, config, metrics } = this.d;
    const key = deviceKey(device.platform, device.token);
    // A claim outlives one request with its timeout, so two dispatchers never send the same pair at once.
    const claim = await state.begin(job.app, job.id, key, config.requestTimeoutMilliseconds * 2 + 5000);
    if (claim === 'sent') {
      this.report(job, key, 'duplicate');
      return { key };
    }
    if (claim === 'busy') return { key, busy: true };
    let outcome: SendOutcome;
    try {
      outcome = await this.d.senders[device.platform].send(device, job);
    } catch (err) {
      outcome = {
        kind: 'retry',
        reason: 'network',
        detail: err instanceof Error ? err.message : String(err),
      };
    }
    const platform = device.platform;
    switch (outcome.kind) {
      case 'sent':
        await state.markSent(job.app, job.id, key, config.dedupeTtlSeconds * 1000);
        metrics.sent.inc({ app: job.app, platform });
        this.d.usage?.pushSent(job.app);
        await this.event(job, key, 'push_delivered');
        this.report(job, key, 'sent');
        break;
      case 'gone':
        await state.release(job.app, job.id, key);
        // Only this user's device: a token that moved to another user meanwhile is left alone.
        if (await this.d.devices.deleteDevice(job.app, platform, device.token, device.userId))
          metrics.pruned.inc({ app: job.app, platform });
        metrics.failure(job.app, platform, outcome.reason);
        await this.event(job, key, 'push_failed', outcome.reason);
        this.report(job, key, 'pruned', outcome.reason);
        break;
      case 'retry':
        await state.release(job.app, job.id, key);
        metrics.failure(job.app, platform, outcome.reason);
        this.report(job, key, 'retry', outcome.reason);
        break;
      case 'failed':
        await state.release(job.app, job.id, key);
        metrics.failure(job.app, platform, outcome.reason);
        await this.event(job, key, 'push_failed', outcome.reason);
        this.report(job, key, 'failed', outcome.reason);
        break;
    }
    return { key, outcome };
  }

  private async skip(job: PushJob, reason: 'online' | 'acked' | 'no_devices'): Promise<void> {
    this.d.metrics.skipped.inc({ app: job.app, reason });
    this.report(job, undefined, 'skipped', reason);
  }

  private async deadLetter(
    job: PushJob,
    devices: string[],
    reason: PushFailureReason | 'retries_exhausted',
    lastError: string,
  ): Promise<void> {
    const id = `pdl_${randomUUID()}`;
    const entry = {
      id,
      userId: job.user,
      messageId: job.id,
      job: { ...job, devices },
      reason,
      attempts: job.attempt + 1,
      lastError,
    };
    await this.d.deadLetters.addDeadLetter(job.app, entry);
    // Also on the DLQ topic, for operators' own tooling (the admin API reads the store).
    await this.d.bus.publish(
      PUSH_DLQ_TOPIC,
      pushJobKey(job.app, job.user),
      Buffer.from(JSON.stringify({ app: job.app, ...entry, dead_at: this.now() })),
    );
    if (reason === 'retries_exhausted') {
      for (const key of devices) await this.event(job, key, 'push_failed', 'retries_exhausted');
    }
    this.d.metrics.deadLettered.inc({ app: job.app });
    this.report(job, undefined, 'dead_lettered', reason);
  }

  /** A webhook event per push; its id is derived from (message, device, outcome), so a re-run emits the same id. */
  private async event(
    job: PushJob,
    key: string,
    name: 'push_delivered' | 'push_failed',
    reason?: string,
  ): Promise<void> {
    const id = `evt_push_${createHash('sha256')
      .update(`${job.app}\u0000${job.id}\u0000${key}\u0000${name}\u0000${reason ?? ''}`)
      .digest('base64url')
      .slice(0, 22)}`;
    const event: WebhookEvent = {
      id,
      name,
      user_id: job.user,
      push_id: job.id,
      ...(reason !== undefined ? { reason } : {}),
      time_ms: this.now(),
    };
    await this.d.bus.publish(
      Topics.EVENTS,
      eventKey(job.app, event),
      encodeEventRecord({ app: job.app, event }),
    );
  }

  private report(
    job: PushJob,
    device: string | undefined,
    outcome: PushOutcomeReport['outcome'],
    reason?: string,
  ): void {
    const report: PushOutcomeReport = {
      app: job.app,
      user: job.user,
      messageId: job.id,
      ...(device !== undefined ? { device } : {}),
      outcome,
      ...(reason !== undefined ? { reason } : {}),
    };
    for (const l of this.listeners) l(report);
  }
}
