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

/** Longest a handler waits for a job's time (the config caps delays at this too): see docs/push.md. */
export const MAX_JOB_WAIT_MS = 20_000;

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
  now?: () => number;
  random?: () => number;
  /** Resolves after `ms`, or rejects when `signal` aborts (the dispatcher stops). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface PushOutcomeReport {
  app: string;
  user: string;
  messageId: string;
  /** `platform:token`, absent for job-level outcomes (skipped, dead-lettered). */
  device?: string;
  outcome: 'sent' | 'duplicate' | 'pruned' | 'retry' | 'failed' | 'skipped' | 'dead_lettered';
  reason?: string;
}

class Stopped extends Error {}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Stopped('stopped'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Stopped('stopped'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The push dispatcher: consumes `herald.push` as the `herald.push` consumer group (one member per
 * partition at most, so one user's jobs are handled in order by one dispatcher), and for each job:
 *
 * 1. waits for its time (a retry's `notBefore`, an `unacked` job's delay), at most MAX_JOB_WAIT_MS;
 * 2. applies the policy at send time: `offline` asks the PresenceRegistry whether the user is
 *    online, `unacked` whether a live connection acknowledged the message; `always` sends;
 * 3. sends to each of the user's devices through the app's own long-lived APNs / FCM client, once
 *    per (message, device) (PushStateStore claims and send records);
 * 4. deletes tokens the provider reports dead, re-enqueues temporary failures with backoff that
 *    honours Retry-After (a new record, so the partition is not blocked by the whole schedule), and
 *    dead-letters the job after `maxAttempts` or on a permanent failure.
 *
 * The record is committed when the handler resolves (at-least-once); a killed dispatcher's jobs are
 * handled again by the next member, and the send records keep that from pushing twice.
 */
export class PushDispatcher {
  private readonly log = new Logger('PushDispatcher');
  private subscription?: BusSubscription;
  private readonly abort = new AbortController();
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Called with every outcome, after its metrics and events are recorded (tests, diagnostics). */
  readonly listeners = new Set<(o: PushOutcomeReport) => void>();

  constructor(private readonly d: PushDispatcherDeps) {
    this.now = d.now ?? Date.now;
    this.random = d.random ?? Math.random;
    this.sleep = d.sleep ?? abortableSleep;
  }

  async start(): Promise<void> {
    this.subscription = await this.d.bus.subscribe(Topics.PUSH, { group: PUSH_CONSUMER_GROUP }, (r) =>
      this.onRecord(r),
    );
  }

  /**
   * Stops consuming. A handler waiting for a job's time is interrupted and its record is left
   * uncommitted (handed to the next member); sends in flight finish first.
   */
  async stop(): Promise<void> {
    this.abort.abort();
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
      if (err instanceof Stopped) throw err;
      // Store or bus failure: rethrow so the record is not committed and is handled again.
      this.log.error({ msg: 'push job failed; it will be retried', app: job.app, err: String(err) });
      throw err;
    }
  }

  /** Handles one job (the Bus handler; also called directly by tests). */
  async handle(job: PushJob): Promise<void> {
    const { state, config, metrics } = this.d;
    const wakeAt = Math.max(
      job.notBefore ?? 0,
      job.policy === 'unacked' && !job.replay ? job.at + (job.delayMs ?? config.unackedDelayMilliseconds) : 0,
    );
    const wait = Math.min(wakeAt - this.now(), MAX_JOB_WAIT_MS);
    if (wait > 0) await this.sleep(wait, this.abort.signal);
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
    const delay = onlyBusy
      ? config.backoffMaxMilliseconds
      : pushBackoff(attempt, {
          initialMs: config.backoffInitialMilliseconds,
          maxMs: config.backoffMaxMilliseconds,
          retryAfterMs,
          random: this.random,
        });
    const next: PushJob = { ...job, attempt, notBefore: this.now() + delay, devices: keys };
    await this.d.bus.publish(Topics.PUSH, pushJobKey(job.app, job.user), encodePushJob(next));
    metrics.retried.inc({ app: job.app });
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
