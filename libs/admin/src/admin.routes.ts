/**
 * The admin API's routes, described once for the OpenAPI document (registered into libs/rest's
 * document by AdminModule). A spec checks that this table and the routes Nest serves are the same.
 */
import { ErrorCode, type ErrorDef } from '@herald/protocol';
import type { OpenApiExtension, RouteSpec } from '@herald/rest';
import * as s from './admin.schemas.js';

export const ADMIN_SECURITY = 'adminToken';
const A = '/v1/admin/apps';
const APP = `${A}/{app}`;

const WRITE: ErrorDef[] = [ErrorCode.PERMISSION_DENIED, ErrorCode.NOT_AVAILABLE];

function route(r: Omit<RouteSpec, 'auth' | 'security' | 'tag'> & { tag?: string }): RouteSpec {
  return { tag: 'admin: apps', ...r, auth: true, security: ADMIN_SECURITY };
}

export const ADMIN_ROUTES: readonly RouteSpec[] = [
  route({
    method: 'get',
    path: A,
    operationId: 'adminListApps',
    summary: 'List apps',
    response: s.appListResult,
    errors: [ErrorCode.NOT_AVAILABLE],
  }),
  route({
    method: 'post',
    path: A,
    operationId: 'adminCreateApp',
    summary: 'Create an app',
    description:
      'Answers 201 with the app, its first client key and its first server secret. The secret is shown only here.',
    body: s.createAppBody,
    response: s.createdAppResult,
    errors: [ErrorCode.ALREADY_EXISTS, ErrorCode.NOT_AVAILABLE],
  }),
  route({
    method: 'get',
    path: APP,
    operationId: 'adminGetApp',
    summary: 'Read an app',
    response: s.appResult,
    errors: [ErrorCode.NOT_AVAILABLE],
  }),
  route({
    method: 'patch',
    path: APP,
    operationId: 'adminUpdateApp',
    summary: 'Change name, allowed origins, namespaces, limits, public keys',
    description:
      'Every node drops its cached copy within moments (bus `app_changed`). Apps managed by the config file are read-only.',
    body: s.updateAppBody,
    response: s.appResult,
    errors: WRITE,
  }),
  route({
    method: 'delete',
    path: APP,
    operationId: 'adminDeleteApp',
    summary: 'Delete an app and everything it owns',
    description: 'Its connections are closed on every node with `unknown_app` (3503).',
    response: s.adminEmptyResult,
    errors: WRITE,
  }),
  route({
    method: 'post',
    path: `${APP}/disable`,
    operationId: 'adminDisableApp',
    summary: 'Disable an app',
    description:
      'Refused at connect and in the REST API; live connections are closed on every node with `unknown_app`.',
    response: s.appResult,
    errors: WRITE,
  }),
  route({
    method: 'post',
    path: `${APP}/enable`,
    operationId: 'adminEnableApp',
    summary: 'Enable an app',
    response: s.appResult,
    errors: WRITE,
  }),
  route({
    method: 'get',
    path: `${APP}/keys`,
    operationId: 'adminListKeys',
    summary: 'List client keys',
    tag: 'admin: credentials',
    response: s.clientKeyListResult,
    errors: [ErrorCode.NOT_AVAILABLE],
  }),
  route({
    method: 'post',
    path: `${APP}/keys`,
    operationId: 'adminCreateKey',
    summary: 'Add a client key',
    tag: 'admin: credentials',
    body: s.createClientKeyBody,
    response: s.clientKeyResult,
    errors: [...WRITE],
  }),
  route({
    method: 'delete',
    path: `${APP}/keys/{key}`,
    operationId: 'adminRevokeKey',
    summary: 'Revoke a client key',
    description: 'New connections with the key are refused on every node; the key is never reissued.',
    tag: 'admin: credentials',
    response: s.clientKeyResult,
    errors: [...WRITE, ErrorCode.NOT_FOUND],
  }),
  route({
    method: 'get',
    path: `${APP}/secrets`,
    operationId: 'adminListSecrets',
    summary: 'List server secrets (without values)',
    tag: 'admin: credentials',
    response: s.secretListResult,
    errors: [ErrorCode.NOT_AVAILABLE],
  }),
  route({
    method: 'post',
    path: `${APP}/secrets`,
    operationId: 'adminCreateSecret',
    summary: 'Add a server secret with scopes',
    description: 'The value is in this answer only. An app has at most 10 live secrets.',
    tag: 'admin: credentials',
    body: s.createSecretBody,
    response: s.createdSecretResult,
    errors: [...WRITE],
  }),
  route({
    method: 'post',
    path: `${APP}/secrets/{secret}/rotate`,
    operationId: 'adminRotateSecret',
    summary: 'Rotate a server secret',
    description:
      'Issues a successor with the same scopes; the old secret keeps working for `grace_seconds`, then is refused ' +
      '(REST `unauthorized`, tokens `token_invalid_signature`). A secret already rotating answers `already_exists`.',
    tag: 'admin: credentials',
    body: s.rotateSecretBody,
    response: s.createdSecretResult,
    errors: [...WRITE, ErrorCode.NOT_FOUND, ErrorCode.ALREADY_EXISTS],
  }),
  route({
    method: 'delete',
    path: `${APP}/secrets/{secret}`,
    operationId: 'adminRevokeSecret',
    summary: 'Revoke a server secret now',
    description:
      'Refused on every node within moments (bus invalidation; at most `control.cacheTtlSeconds` if the bus is down).',
    tag: 'admin: credentials',
    response: s.secretResult,
    errors: [...WRITE, ErrorCode.NOT_FOUND],
  }),
  route({
    method: 'get',
    path: `${APP}/webhooks`,
    operationId: 'adminListWebhooks',
    summary: 'List webhook endpoints',
    tag: 'admin: integrations',
    response: s.webhookListResult,
    errors: [ErrorCode.NOT_AVAILABLE],
  }),
  route({
    method: 'post',
    path: `${APP}/webhooks`,
    operationId: 'adminCreateWebhook',
    summary: 'Add a webhook endpoint',
    description: 'The signing secret is in this answer only.',
    tag: 'admin: integrations',
    body: s.createWebhookBody,
    response: s.createdWebhookResult,
    errors: [...WRITE],
  }),
  route({
    method: 'get',
    path: `${APP}/webhooks/dead-letters`,
    operationId: 'adminListWebhookDeadLetters',
    summary: 'List undeliverable webhook events',
    description:
      'Events moved out of delivery after the retention, a 410, a refused address or a full queue. Served by nodes that run the webhook dispatcher.',
    tag: 'admin: integrations',
    query: s.deadLetterQuery,
    response: s.deadLetterListResult,
    errors: [ErrorCode.NOT_AVAILABLE],
  }),
  route({
    method: 'post',
    path: `${APP}/webhooks/dead-letters/replay`,
    operationId: 'adminReplayWebhookDeadLetters',
    summary: 'Deliver dead-lettered webhook events again',
    description: "Queues them behind the endpoint's pending events, with their original event ids.",
    tag: 'admin: integrations',
    body: s.replayBody,
    response: s.replayResult,
    errors: [ErrorCode.NOT_AVAILABLE],
  }),
  route({
    method: 'post',
    path: `${APP}/webhooks/{webhook}/enable`,
    operationId: 'adminEnableWebhook',
    summary: 'Re-enable a webhook endpoint disabled by a 410 answer',
    tag: 'admin: integrations',
    response: s.adminEmptyResult,
    errors: [ErrorCode.NOT_AVAILABLE],
  }),
  route({
    method: 'patch',
    path: `${APP}/webhooks/{webhook}`,
    operationId: 'adminUpdateWebhook',
    summary: 'Change a webhook endpoint',
    description:
      'URL, events, channel prefixes, format (`standard` or `pusher`) and the enabled flag; omitted fields stay. ' +
      'Dispatchers see the change within seconds (their endpoint cache lives 2 s).',
    tag: 'admin: integrations',
    body: s.updateWebhookBody,
    response: s.webhookResult,
    errors: [...WRITE, ErrorCode.NOT_FOUND],
  }),
  route({
    method: 'post',
    path: `${APP}/webhooks/{webhook}/rotate-secret`,
    operationId: 'adminRotateWebhookSecret',
    summary: 'Rotate the signing secret of a webhook endpoint',
    description:
      'The new secret is in this answer only. For `grace_seconds` every delivery carries two signatures ' +
      '(new and previous secret), so the receiver can switch without a gap.',
    tag: 'admin: integrations',
    body: s.rotateWebhookSecretBody,
    response: s.createdWebhookResult,
    errors: [...WRITE, ErrorCode.NOT_FOUND],
  }),
  route({
    method: 'delete',
    path: `${APP}/webhooks/{webhook}`,
    operationId: 'adminDeleteWebhook',
    summary: 'Remove a webhook endpoint',
    tag: 'admin: integrations',
    response: s.adminEmptyResult,
    errors: [...WRITE, ErrorCode.NOT_FOUND],
  }),
  route({
    method: 'get',
    path: `${APP}/push`,
    operationId: 'adminListPush',
    summary: 'List push credentials (identifiers only)',
    tag: 'admin: integrations',
    response: s.pushCredentialListResult,
    errors: [ErrorCode.NOT_AVAILABLE],
  }),
  route({
    method: 'put',
    path: `${APP}/push/apns`,
    operationId: 'adminSetApns',
    summary: 'Store the APNs credential (.p8 key)',
    description: 'Validated (EC P-256 key, ids), encrypted with the master key, never returned.',
    tag: 'admin: integrations',
    body: s.apnsBody,
    response: s.pushCredentialResult,
    errors: [...WRITE],
  }),
  route({
    method: 'put',
    path: `${APP}/push/fcm`,
    operationId: 'adminSetFcm',
    summary: 'Store the FCM credential (service account)',
    description:
      'Validated (type, project id, client email, RSA key), encrypted with the master key, never returned.',
    tag: 'admin: integrations',
    body: s.fcmBody,
    response: s.pushCredentialResult,
    errors: [...WRITE],
  }),
  route({
    method: 'delete',
    path: `${APP}/push/{provider}`,
    operationId: 'adminDeletePush',
    summary: 'Remove a push credential',
    tag: 'admin: integrations',
    response: s.adminEmptyResult,
    errors: [...WRITE, ErrorCode.NOT_FOUND],
  }),
  route({
    method: 'post',
    path: `${APP}/tokens`,
    operationId: 'adminMintToken',
    summary: 'Mint a development connection token',
    description:
      'Signed server-side with the first live secret that has the `token` scope, so operators and the CLI ' +
      '(`herald token`) get a token without handling the secret. Production backends sign their own tokens.',
    tag: 'admin: credentials',
    body: s.mintTokenBody,
    response: s.mintTokenResult,
    errors: [ErrorCode.NOT_AVAILABLE, ErrorCode.UNKNOWN_APP],
  }),
  route({
    method: 'get',
    path: `${APP}/usage`,
    operationId: 'adminUsage',
    summary: 'Usage per day',
    tag: 'admin: usage',
    query: s.usageQuery,
    response: s.usageResult,
    errors: [ErrorCode.NOT_AVAILABLE],
  }),
];

const param = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});

export const ADMIN_OPENAPI: OpenApiExtension = {
  routes: ADMIN_ROUTES,
  tags: [
    { name: 'admin: apps', description: 'Operators: create, change, disable and delete apps (admin token).' },
    {
      name: 'admin: credentials',
      description: 'Client keys and server secrets: scopes, rotation, revocation.',
    },
    {
      name: 'admin: integrations',
      description: 'Webhook endpoints and push credentials (stored encrypted).',
    },
    { name: 'admin: usage', description: 'Metering per app and day.' },
  ],
  pathParams: {
    key: param('key', 'Client key.'),
    secret: param('secret', 'Secret id (`sec_...`), not the secret.'),
    webhook: param('webhook', 'Webhook endpoint id.'),
    provider: { ...param('provider', 'Push provider.'), schema: { type: 'string', enum: ['apns', 'fcm'] } },
  },
  securitySchemes: {
    [ADMIN_SECURITY]: {
      type: 'http',
      scheme: 'bearer',
      description:
        'The admin token (HERALD_ADMIN_TOKEN), or, on the routes of one app, a server secret of that app with the `admin` scope.',
    },
  },
};
