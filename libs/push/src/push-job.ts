/**
 * Push jobs: what travels on the Bus topic `herald.push`, keyed `<app>:<user>` so one user's pushes
 * stay in order and one dispatcher handles them (DESIGN.md "Kafka topics"). A job names one message
 * (`id`, the same id the live publication carries for acknowledgement) for one user; the dispatcher
 * resolves the user's devices when it sends, so a device registered after the publish still gets it.
 */

/** When a push is sent: `offline` (the default), `always`, or `unacked` (after `delayMs`). */
export type PushPolicy = 'offline' | 'always' | 'unacked';
export const PUSH_POLICIES: readonly PushPolicy[] = ['offline', 'always', 'unacked'];

/** APNs-only fields; set fields replace the common ones for APNs. */
export interface ApnsOverride {
  title?: string;
  subtitle?: string;
  body?: string;
  sound?: string;
  badge?: number;
  /** `alert` (default when there is a title or body) or `background` (content-available). */
  push_type?: 'alert' | 'background';
  thread_id?: string;
  category?: string;
  mutable_content?: boolean;
  /** Extra top-level keys of the APNs payload, next to `aps`. */
  payload?: Record<string, unknown>;
}

/** FCM-only fields; set fields replace the common ones for FCM (Android). */
export interface FcmOverride {
  title?: string;
  body?: string;
  sound?: string;
  /** Android notification channel. */
  channel_id?: string;
  icon?: string;
  color?: string;
  click_action?: string;
  /** Extra data entries (strings), merged over the common `data`. */
  data?: Record<string, string>;
}

/** The `push` section of a publish: what the phone shows. */
export interface PushContent {
  title?: string;
  body?: string;
  /** Custom keys: APNs payload keys next to `aps`; FCM `data` (non-string values JSON-encoded). */
  data?: Record<string, unknown>;
  badge?: number;
  sound?: string;
  /** APNs `apns-collapse-id`, FCM `collapse_key`: a newer push replaces an older one on the phone. */
  collapse_id?: string;
  /** How long the provider keeps trying to reach the phone (APNs expiration, FCM ttl). 0: now or never. */
  ttl_seconds?: number;
  /** `high` (default, wakes the phone) or `normal` (delivered when convenient). */
  priority?: 'high' | 'normal';
  apns?: ApnsOverride;
  fcm?: FcmOverride;
}

export interface PushJob {
  v: 1;
  /** Message id: the `id` of the live publication (acknowledged with `ack`), and the dedupe key. */
  id: string;
  app: string;
  user: string;
  policy: PushPolicy;
  /** `unacked`: how long after `at` the dispatcher waits for an acknowledgement. */
  delayMs?: number;
  /** Publish time, epoch ms. */
  at: number;
  /** Sends already tried for this job (0 for a new job; a retry re-enqueues with attempt + 1). */
  attempt: number;
  /** Retries: not before this time (epoch ms). */
  notBefore?: number;
  /**
   * Set on a job the scheduler moved back onto the Bus from the parked jobs: its time has come, so
   * it is handled now and never parked again (whatever the handling dispatcher's clock says).
   */
  due?: boolean;
  /** Retries: only these devices (`platform:token`); absent means every device of the user. */
  devices?: string[];
  /** A replayed dead letter: the policy is ignored and the push is sent (the operator asked). */
  replay?: boolean;
  push: PushContent;
}

export function pushJobKey(appId: string, user: string): string {
  return `${appId}:${user}`;
}

export function encodePushJob(job: PushJob): Buffer {
  return Buffer.from(JSON.stringify(job), 'utf8');
}

/** The job, or undefined for a record that is not one (logged and skipped by the dispatcher). */
export function decodePushJob(value: Buffer): PushJob | undefined {
  try {
    const j = JSON.parse(value.toString('utf8')) as Partial<PushJob>;
    if (j.v !== 1 || typeof j.id !== 'string' || typeof j.app !== 'string' || typeof j.user !== 'string')
      return undefined;
    if (!PUSH_POLICIES.includes(j.policy as PushPolicy) || typeof j.at !== 'number') return undefined;
    if (typeof j.push !== 'object' || j.push === null) return undefined;
    return { ...j, attempt: typeof j.attempt === 'number' ? j.attempt : 0 } as PushJob;
  } catch {
    return undefined;
  }
}

/** A device's key inside jobs, dedupe records and metrics-free logs. */
export function deviceKey(platform: string, token: string): string {
  return `${platform}:${token}`;
}

/** Topic of exhausted jobs (DESIGN.md); the admin API lists and replays them from the dead-letter store. */
export const PUSH_DLQ_TOPIC = 'herald.push.dlq';
