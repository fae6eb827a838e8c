import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Optional,
  Param,
  Patch,
  Post,
  Put,
  Query,
  UseGuards,
} from '@nestjs/common';
import type { z } from 'zod';
import type {
  AppRecord,
  ClientKeyRecord,
  CreatedSecret,
  PushCredentialRecord,
  PushProvider,
  SecretRecord,
  WebhookRecord,
} from '@herald/control';
import { secretHasScope, signConnectionToken } from '@herald/auth';
import { NODE_CONFIG, type NodeConfig } from '@herald/config';
import { CONTROL_STORE, type ControlStore } from '@herald/control';
import { ErrorCode, HeraldError } from '@herald/protocol';
import { parseBody, parseQuery } from '@herald/rest';
import { AdminAuthGuard } from './admin-auth.guard.js';
import { AdminService } from './admin.service.js';
import * as s from './admin.schemas.js';
import { apnsCredential, fcmCredential } from './push-credentials.js';
import {
  AddressPolicy,
  WEBHOOK_STORE,
  WebhookDispatcher,
  isPusherEvent,
  type WebhookStore,
} from '@herald/webhooks';

type Out<T extends z.ZodType> = z.output<T>;

const iso = (d: Date) => d.toISOString();

export function appBody(a: AppRecord): Out<typeof s.appResult> {
  return {
    id: a.id,
    name: a.name,
    enabled: a.enabled,
    managed_by: a.managedBy,
    allowed_origins: a.allowedOrigins,
    namespaces: a.namespaces as unknown as Record<string, Record<string, unknown>>,
    limits: a.limits as unknown as Record<string, number>,
    personal_channel: a.personalChannel,
    public_keys: a.publicKeys,
    created_at: iso(a.createdAt),
    updated_at: iso(a.updatedAt),
  };
}

function keyBody(k: ClientKeyRecord): Out<typeof s.clientKeyResult> {
  return {
    key: k.key,
    ...(k.label !== undefined ? { label: k.label } : {}),
    created_at: iso(k.createdAt),
    ...(k.revokedAt ? { revoked_at: iso(k.revokedAt) } : {}),
  };
}

function secretBody(r: SecretRecord): Out<typeof s.secretResult> {
  return {
    id: r.id,
    ...(r.label !== undefined ? { label: r.label } : {}),
    scopes: r.scopes,
    hint: r.hint,
    ...(r.rotatedFrom !== undefined ? { rotated_from: r.rotatedFrom } : {}),
    created_at: iso(r.createdAt),
    ...(r.retiresAt ? { retires_at: iso(r.retiresAt) } : {}),
    ...(r.revokedAt ? { revoked_at: iso(r.revokedAt) } : {}),
    live: r.live,
  };
}

function createdSecretBody(c: CreatedSecret): Out<typeof s.createdSecretResult> {
  return { secret: c.secret, record: secretBody(c.record) };
}

function webhookBody(w: WebhookRecord): Out<typeof s.webhookResult> {
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    channel_prefixes: w.channelPrefixes ?? [],
    format: w.format ?? 'standard',
    enabled: w.enabled,
    ...(w.previousSecretExpiresAt ? { previous_secret_expires_at: iso(w.previousSecretExpiresAt) } : {}),
    created_at: iso(w.createdAt),
  };
}

function credentialBody(c: PushCredentialRecord): Out<typeof s.pushCredentialResult> {
  return { provider: c.provider, metadata: c.metadata, updated_at: iso(c.updatedAt) };
}

function provider(value: string): PushProvider {
  if (value === 'apns' || value === 'fcm') return value;
  throw new HeraldError(ErrorCode.NOT_FOUND, 'push providers are apns and fcm');
}

/**
 * Admin API v1 (`/v1/admin`): apps, client keys, server secrets, webhook endpoints, push
 * credentials and usage. Documented from admin.routes.ts; authenticated by AdminAuthGuard. Secrets
 * appear in the answer of the call that created them and nowhere else.
 */
@Controller('v1/admin/apps')
@UseGuards(AdminAuthGuard)
export class AdminController {
  constructor(
    private readonly service: AdminService,
    @Inject(CONTROL_STORE) private readonly control: ControlStore,
    @Optional() @Inject(WEBHOOK_STORE) private readonly webhookStore?: WebhookStore,
    @Optional() private readonly webhookDispatcher?: WebhookDispatcher,
    @Optional() @Inject(NODE_CONFIG) private readonly nodeConfig?: NodeConfig,
  ) {}

  /**
   * Early feedback on SSRF: a webhook URL whose host is an IP literal (or `localhost`) that the
   * dispatcher would refuse is refused here already. Names are resolved, and checked, only when
   * delivering (DNS answers change), so this is a convenience, not the protection.
   */
  private checkWebhookUrl(url: string | undefined): void {
    if (url === undefined) return;
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    const ip = host === 'localhost' ? '127.0.0.1' : host;
    if (!isIP(ip)) return;
    const refusal = new AddressPolicy(this.nodeConfig?.webhooks.allowNetworks ?? []).refusal(ip);
    if (refusal)
      throw new HeraldError(
        ErrorCode.BAD_REQUEST,
        `webhook url refused: ${refusal} (operators can allow it with webhooks.allowNetworks)`,
      );
  }

  /** The dead-letter store lives with the dispatcher; nodes without one answer not_available. */
  private deadLetterStore(): WebhookStore {
    if (!this.webhookStore)
      throw new HeraldError(ErrorCode.NOT_AVAILABLE, 'this node does not run the webhook dispatcher');
    return this.webhookStore;
  }

  // --- apps --------------------------------------------------------------------------------------

  @Get()
  async listApps(): Promise<Out<typeof s.appListResult>> {
    return { apps: (await this.service.admin.listAppRecords()).map(appBody) };
  }

  @Post()
  @HttpCode(201)
  async createApp(@Body() body: unknown): Promise<Out<typeof s.createdAppResult>> {
    const input = parseBody(s.createAppBody, body);
    const id = input.id ?? `app_${randomBytes(6).toString('hex')}`;
    const created = await this.service.change(id, (admin) =>
      admin.createApp({
        id,
        name: input.name ?? id,
        enabled: input.enabled,
        allowedOrigins: input.allowed_origins,
        namespaces: input.namespaces,
        limits: input.limits,
        personalChannel: input.personal_channel,
        publicKeys: input.public_keys,
      }),
    );
    return {
      app: appBody(created.app),
      key: keyBody(created.key),
      secret: createdSecretBody(created.secret),
    };
  }

  @Get(':app')
  async getApp(@Param('app') appId: string): Promise<Out<typeof s.appResult>> {
    return appBody(await this.service.admin.getAppRecord(appId));
  }

  @Patch(':app')
  async updateApp(@Param('app') appId: string, @Body() body: unknown): Promise<Out<typeof s.appResult>> {
    const p = parseBody(s.updateAppBody, body);
    const updated = await this.service.change(appId, (admin) =>
      admin.updateApp(appId, {
        ...(p.name !== undefined ? { name: p.name } : {}),
        ...(p.allowed_origins !== undefined ? { allowedOrigins: p.allowed_origins } : {}),
        ...(p.namespaces !== undefined ? { namespaces: p.namespaces } : {}),
        ...(p.limits !== undefined ? { limits: p.limits } : {}),
        ...(p.personal_channel !== undefined ? { personalChannel: p.personal_channel } : {}),
        ...(p.public_keys !== undefined ? { publicKeys: p.public_keys } : {}),
      }),
    );
    return appBody(updated);
  }

  @Delete(':app')
  async deleteApp(@Param('app') appId: string): Promise<Out<typeof s.adminEmptyResult>> {
    await this.service.change(appId, (admin) => admin.deleteApp(appId), { off: true });
    return {};
  }

  @Post(':app/disable')
  @HttpCode(200)
  async disableApp(@Param('app') appId: string): Promise<Out<typeof s.appResult>> {
    return appBody(
      await this.service.change(appId, (admin) => admin.setAppEnabled(appId, false), { off: true }),
    );
  }

  @Post(':app/enable')
  @HttpCode(200)
  async enableApp(@Param('app') appId: string): Promise<Out<typeof s.appResult>> {
    return appBody(await this.service.change(appId, (admin) => admin.setAppEnabled(appId, true)));
  }

  // --- client keys -------------------------------------------------------------------------------

  @Get(':app/keys')
  async listKeys(@Param('app') appId: string): Promise<Out<typeof s.clientKeyListResult>> {
    return { keys: (await this.service.admin.listClientKeys(appId)).map(keyBody) };
  }

  @Post(':app/keys')
  @HttpCode(201)
  async createKey(
    @Param('app') appId: string,
    @Body() body: unknown,
  ): Promise<Out<typeof s.clientKeyResult>> {
    const { label } = parseBody(s.createClientKeyBody, body);
    return keyBody(
      await this.service.change(appId, (admin) =>
        admin.createClientKey(appId, label !== undefined ? { label } : {}),
      ),
    );
  }

  @Delete(':app/keys/:key')
  async revokeKey(
    @Param('app') appId: string,
    @Param('key') key: string,
  ): Promise<Out<typeof s.clientKeyResult>> {
    return keyBody(await this.service.change(appId, (admin) => admin.revokeClientKey(appId, key)));
  }

  // --- secrets -----------------------------------------------------------------------------------

  @Get(':app/secrets')
  async listSecrets(@Param('app') appId: string): Promise<Out<typeof s.secretListResult>> {
    return { secrets: (await this.service.admin.listSecrets(appId)).map(secretBody) };
  }

  @Post(':app/secrets')
  @HttpCode(201)
  async createSecret(
    @Param('app') appId: string,
    @Body() body: unknown,
  ): Promise<Out<typeof s.createdSecretResult>> {
    const { scopes, label } = parseBody(s.createSecretBody, body);
    return createdSecretBody(
      await this.service.change(appId, (admin) =>
        admin.createSecret(appId, { scopes, ...(label !== undefined ? { label } : {}) }),
      ),
    );
  }

  @Post(':app/secrets/:secret/rotate')
  @HttpCode(201)
  async rotateSecret(
    @Param('app') appId: string,
    @Param('secret') secretId: string,
    @Body() body: unknown,
  ): Promise<Out<typeof s.createdSecretResult>> {
    const { grace_seconds } = parseBody(s.rotateSecretBody, body);
    return createdSecretBody(
      await this.service.change(appId, (admin) =>
        admin.rotateSecret(appId, secretId, { graceSeconds: grace_seconds }),
      ),
    );
  }

  @Delete(':app/secrets/:secret')
  async revokeSecret(
    @Param('app') appId: string,
    @Param('secret') secretId: string,
  ): Promise<Out<typeof s.secretResult>> {
    return secretBody(await this.service.change(appId, (admin) => admin.revokeSecret(appId, secretId)));
  }

  // --- webhooks ----------------------------------------------------------------------------------

  @Get(':app/webhooks')
  async listWebhooks(@Param('app') appId: string): Promise<Out<typeof s.webhookListResult>> {
    return { webhooks: (await this.service.admin.listWebhooks(appId)).map(webhookBody) };
  }

  @Post(':app/webhooks')
  @HttpCode(201)
  async createWebhook(
    @Param('app') appId: string,
    @Body() body: unknown,
  ): Promise<Out<typeof s.createdWebhookResult>> {
    const input = parseBody(s.createWebhookBody, body);
    this.checkWebhookUrl(input.url);
    const created = await this.service.change(appId, (admin) =>
      admin.createWebhook(appId, {
        url: input.url,
        events: input.events,
        ...(input.channel_prefixes !== undefined ? { channelPrefixes: input.channel_prefixes } : {}),
        ...(input.format !== undefined ? { format: input.format } : {}),
        ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
      }),
    );
    return { webhook: webhookBody(created.record), signing_secret: created.signingSecret };
  }

  @Patch(':app/webhooks/:webhook')
  async updateWebhook(
    @Param('app') appId: string,
    @Param('webhook') id: string,
    @Body() body: unknown,
  ): Promise<Out<typeof s.webhookResult>> {
    const input = parseBody(s.updateWebhookBody, body);
    this.checkWebhookUrl(input.url);
    const record = await this.service.change(appId, async (admin) => {
      if (input.format === 'pusher' && input.events === undefined) {
        // The stored events must fit the Pusher format too.
        const current = (await admin.listWebhooks(appId)).find((w) => w.id === id);
        const other = (current?.events ?? []).filter((e) => !isPusherEvent(e));
        if (other.length > 0)
          throw new HeraldError(ErrorCode.BAD_REQUEST, `the pusher format has no ${other.join(', ')} events`);
      }
      return admin.updateWebhook(appId, id, {
        ...(input.url !== undefined ? { url: input.url } : {}),
        ...(input.events !== undefined ? { events: input.events } : {}),
        ...(input.channel_prefixes !== undefined ? { channelPrefixes: input.channel_prefixes } : {}),
        ...(input.format !== undefined ? { format: input.format } : {}),
        ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
      });
    });
    // Re-enabling also lifts a 410 disable recorded by the dispatchers' store.
    if (input.enabled === true) await this.webhookStore?.enableEndpoint(appId, id);
    return webhookBody(record);
  }

  @Post(':app/webhooks/:webhook/rotate-secret')
  @HttpCode(200)
  async rotateWebhookSecret(
    @Param('app') appId: string,
    @Param('webhook') id: string,
    @Body() body: unknown,
  ): Promise<Out<typeof s.createdWebhookResult>> {
    const { grace_seconds } = parseBody(s.rotateWebhookSecretBody, body ?? {});
    const created = await this.service.change(appId, (admin) =>
      admin.rotateWebhookSecret(appId, id, { graceSeconds: grace_seconds }),
    );
    return { webhook: webhookBody(created.record), signing_secret: created.signingSecret };
  }

  @Get(':app/webhooks/dead-letters')
  async listDeadLetters(
    @Param('app') appId: string,
    @Query() query: unknown,
  ): Promise<Out<typeof s.deadLetterListResult>> {
    const q = parseQuery(s.deadLetterQuery, query);
    const limit = Math.min(1000, Math.max(1, Number(q.limit ?? 100)));
    const list = await this.deadLetterStore().listDeadLetters(appId, limit);
    return {
      dead_letters: list.map((d) => ({
        webhook: d.endpointId,
        event: { ...d.event },
        reason: d.reason,
        attempts: d.attempts,
        dead_at: new Date(d.deadAt).toISOString(),
        ...(d.lastError !== undefined ? { last_error: d.lastError } : {}),
      })),
    };
  }

  @Post(':app/webhooks/dead-letters/replay')
  @HttpCode(200)
  async replayDeadLetters(
    @Param('app') appId: string,
    @Body() body: unknown,
  ): Promise<Out<typeof s.replayResult>> {
    const input = parseBody(s.replayBody, body ?? {});
    const replayed = await this.deadLetterStore().replay(appId, Date.now(), input.event_ids);
    this.webhookDispatcher?.kick();
    return { replayed };
  }

  @Post(':app/webhooks/:webhook/enable')
  @HttpCode(200)
  async enableWebhook(
    @Param('app') appId: string,
    @Param('webhook') id: string,
  ): Promise<Out<typeof s.adminEmptyResult>> {
    await this.deadLetterStore().enableEndpoint(appId, id);
    return {};
  }

  @Delete(':app/webhooks/:webhook')
  async deleteWebhook(
    @Param('app') appId: string,
    @Param('webhook') id: string,
  ): Promise<Out<typeof s.adminEmptyResult>> {
    await this.service.change(appId, (admin) => admin.deleteWebhook(appId, id));
    return {};
  }

  // --- push credentials --------------------------------------------------------------------------

  @Get(':app/push')
  async listPush(@Param('app') appId: string): Promise<Out<typeof s.pushCredentialListResult>> {
    return { credentials: (await this.service.admin.listPushCredentials(appId)).map(credentialBody) };
  }

  @Put(':app/push/apns')
  async setApns(
    @Param('app') appId: string,
    @Body() body: unknown,
  ): Promise<Out<typeof s.pushCredentialResult>> {
    const credential = apnsCredential(parseBody(s.apnsBody, body));
    return credentialBody(
      await this.service.change(appId, (admin) => admin.setPushCredential(appId, credential)),
    );
  }

  @Put(':app/push/fcm')
  async setFcm(
    @Param('app') appId: string,
    @Body() body: unknown,
  ): Promise<Out<typeof s.pushCredentialResult>> {
    const credential = fcmCredential(parseBody(s.fcmBody, body));
    return credentialBody(
      await this.service.change(appId, (admin) => admin.setPushCredential(appId, credential)),
    );
  }

  @Delete(':app/push/:provider')
  async deletePush(
    @Param('app') appId: string,
    @Param('provider') name: string,
  ): Promise<Out<typeof s.adminEmptyResult>> {
    const p = provider(name);
    await this.service.change(appId, (admin) => admin.deletePushCredential(appId, p));
    return {};
  }

  @Post(':app/tokens')
  @HttpCode(200)
  async mintToken(
    @Param('app') appId: string,
    @Body() body: unknown,
  ): Promise<Out<typeof s.mintTokenResult>> {
    const input = parseBody(s.mintTokenBody, body);
    const app = await this.control.getApp(appId);
    if (!app || !app.enabled) throw new HeraldError(ErrorCode.UNKNOWN_APP);
    const index = app.secrets.findIndex((_secret, i) => secretHasScope(app, i, 'token'));
    if (index < 0)
      throw new HeraldError(ErrorCode.NOT_AVAILABLE, 'the app has no live secret with the token scope');
    const nowSec = Math.floor(Date.now() / 1000);
    const token = signConnectionToken(
      app,
      { sub: input.user, ...(input.channels ? { channels: input.channels } : {}) },
      { secretIndex: index, expiresInSeconds: input.ttl_seconds, nowSec },
    );
    return { token, expires_at: new Date((nowSec + input.ttl_seconds) * 1000).toISOString() };
  }

  // --- usage -------------------------------------------------------------------------------------

  @Get(':app/usage')
  async usage(@Param('app') appId: string, @Query() query: unknown): Promise<Out<typeof s.usageResult>> {
    const q = parseQuery(s.usageQuery, query);
    await this.service.admin.getAppRecord(appId);
    const { from, to } = this.service.usagePeriod(q.from, q.to);
    await this.service.flushUsage();
    const days = await this.service.usage.read(appId, from, to);
    return {
      days: days.map((d) => ({
        day: d.day,
        peak_connections: d.peakConnections,
        messages_published: d.messagesPublished,
        messages_delivered: d.messagesDelivered,
        pushes_sent: d.pushesSent,
      })),
    };
  }
}
