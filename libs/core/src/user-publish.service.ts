import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { BUS, Topics, type Bus } from '@herald/bus';
import { NODE_CONFIG, type AppConfig, type NodeConfig } from '@herald/config';
import { HeraldError, personalChannel, type PublishResult } from '@herald/protocol';
import {
  checkPushSize,
  encodePushJob,
  pushJobKey,
  type PushContent,
  type PushJob,
  type PushPolicy,
} from '@herald/push';
import { PublishService } from './publish.service.js';

/** The push part of publishing to users (docs/push.md). */
export interface UserPushOptions {
  content: PushContent;
  policy: PushPolicy;
  /** `unacked`: how long to wait for an acknowledgement; default `push.unackedDelayMilliseconds`. */
  delayMs?: number;
}

export type UserPublishResponse = { user: string; message_id?: string } & (
  PublishResult | { error: { code: number; message: string } }
);

function digest(parts: string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 22);
}

/**
 * Publishing to users: one message into each user's personal channel `#<user>` (delivered to every
 * live connection of the user) and, with `push`, one push job per user on `herald.push`, keyed
 * `<app>:<user>`, which the push dispatcher sends according to the policy.
 *
 * With push, the publication carries a message id (`id`) that the SDK acknowledges (`ack`), for the
 * `unacked` policy. With an idempotency key, each user's publish is idempotent under a key derived
 * from it and the message id is derived from (key, user): a retried request delivers nothing twice
 * and re-enqueues the same message id, which the dispatcher does not push twice to one device.
 */
@Injectable()
export class UserPublishService {
  constructor(
    private readonly publisher: PublishService,
    @Inject(BUS) private readonly bus: Bus,
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
  ) {}

  async publish(
    app: AppConfig,
    users: string[],
    data: unknown,
    push: UserPushOptions | undefined,
    opts: { idempotencyKey?: string; rateLimited?: boolean } = {},
  ): Promise<UserPublishResponse[]> {
    // Refused before anything is published: an oversized push would fail for every device.
    if (push) checkPushSize(push.content);
    const responses: UserPublishResponse[] = [];
    for (const user of users) {
      const key = opts.idempotencyKey;
      const messageId = !push
        ? undefined
        : key === undefined
          ? `msg_${randomUUID().replaceAll('-', '').slice(0, 22)}`
          : `msg_${digest(['message', app.id, key, user])}`;
      try {
        const result = await this.publisher.publish(
          app,
          { channel: personalChannel(user), data, ...(messageId !== undefined ? { messageId } : {}) },
          {
            ...(opts.rateLimited ? { rateLimited: true } : {}),
            ...(key !== undefined
              ? { idempotencyKey: users.length === 1 ? key : `u_${digest([key, user])}` }
              : {}),
          },
        );
        if (push && messageId !== undefined) {
          const job: PushJob = {
            v: 1,
            id: messageId,
            app: app.id,
            user,
            policy: push.policy,
            ...(push.policy === 'unacked'
              ? { delayMs: push.delayMs ?? this.config.push.unackedDelayMilliseconds }
              : {}),
            at: Date.now(),
            attempt: 0,
            push: push.content,
          };
          await this.bus.publish(Topics.PUSH, pushJobKey(app.id, user), encodePushJob(job));
        }
        responses.push({ user, ...(messageId !== undefined ? { message_id: messageId } : {}), ...result });
      } catch (err) {
        // One user: the caller gets the error itself (with its details, e.g. Retry-After).
        if (!(err instanceof HeraldError) || users.length === 1) throw err;
        responses.push({ user, error: { code: err.code, message: err.message } });
      }
    }
    return responses;
  }
}
