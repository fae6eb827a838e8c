/**
 * Every HTTP route served by libs/rest, described once: the OpenAPI document is generated from this
 * table and the schemas it points to (the same ones the handlers validate with), and a spec checks
 * that the routes Nest actually serves and this table are the same set.
 */
import type { z } from 'zod';
import { ErrorCode, type ErrorDef } from '@herald/protocol';
import * as s from './schemas.js';

export type PathParam = 'app' | 'channel' | 'user' | 'file';

export interface RouteSpec {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI path template (`{param}`); Nest routes use `:param`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** Bearer server secret of the app in the path (or, with `security`, that scheme). */
  auth: boolean;
  /** Security scheme of an authenticated route when not the app's server secret (admin API). */
  security?: string;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Accepts the `Idempotency-Key` header. */
  idempotent?: boolean;
  /** JSON response schema; absent for non-JSON responses (HTML, static assets). */
  response?: z.ZodType;
  /** Media type of a non-JSON response. */
  produces?: string;
  /** Another non-error status answered with the same `response` schema (readiness: 503). */
  alsoAnswers?: { status: number; description: string };
  /** Errors this route may answer besides the ones every authenticated route may. */
  errors: ErrorDef[];
}

/** Errors any authenticated route may answer. */
export const COMMON_ERRORS: readonly ErrorDef[] = [
  ErrorCode.BAD_REQUEST,
  ErrorCode.UNAUTHORIZED,
  ErrorCode.UNKNOWN_APP,
  ErrorCode.INTERNAL,
  ErrorCode.UNAVAILABLE,
];

const PUBLISH_ERRORS = [
  ErrorCode.UNKNOWN_CHANNEL,
  ErrorCode.PAYLOAD_TOO_LARGE,
  ErrorCode.RATE_LIMITED,
  ErrorCode.IDEMPOTENCY_CONFLICT,
];

const APP = '/v1/apps/{app}';

export const ROUTES: readonly RouteSpec[] = [
  {
    method: 'post',
    path: `${APP}/publish`,
    operationId: 'publish',
    summary: 'Publish into a channel',
    description:
      'Delivers `data` to every subscriber of the channel. On channels with history the answer ' +
      'carries the publication offset and the stream epoch.',
    tag: 'publishing',
    auth: true,
    body: s.publishBody,
    idempotent: true,
    response: s.publishResult,
    errors: PUBLISH_ERRORS,
  },
  {
    method: 'post',
    path: `${APP}/broadcast`,
    operationId: 'broadcast',
    summary: 'Publish into many channels',
    description:
      'One message to up to 100 channels. Each channel is answered separately (a bad channel does ' +
      'not fail the others); the whole request counts `channels.length` against the publish rate.',
    tag: 'publishing',
    auth: true,
    body: s.broadcastBody,
    idempotent: true,
    response: s.broadcastResult,
    errors: [...PUBLISH_ERRORS, ErrorCode.LIMIT_BATCH],
  },
  {
    method: 'post',
    path: `${APP}/users/{user}/publish`,
    operationId: 'publishToUser',
    summary: "Publish into a user's personal channel",
    description:
      'Publishes into `#<user>`, which every connection of the user joins automatically. With a `push` ' +
      'section, also enqueues a mobile push sent according to its policy (docs/push.md); the answer then ' +
      'carries the `message_id` that the publication carries as `id`.',
    tag: 'publishing',
    auth: true,
    body: s.userPublishBody,
    idempotent: true,
    response: s.userPublishResult,
    errors: [...PUBLISH_ERRORS, ErrorCode.PUSH_PAYLOAD_TOO_LARGE],
  },
  {
    method: 'post',
    path: `${APP}/users/publish`,
    operationId: 'publishToUsers',
    summary: "Publish into many users' personal channels, optionally with push",
    description:
      'One message to up to 100 users (each `#<user>`), each answered separately; the request counts ' +
      '`users.length` against the publish rate. With `push`, one push job per user (docs/push.md).',
    tag: 'publishing',
    auth: true,
    body: s.usersPublishBody,
    idempotent: true,
    response: s.usersPublishResult,
    errors: [...PUBLISH_ERRORS, ErrorCode.LIMIT_BATCH, ErrorCode.PUSH_PAYLOAD_TOO_LARGE],
  },
  {
    method: 'post',
    path: `${APP}/batch`,
    operationId: 'batch',
    summary: 'Run up to 100 commands',
    description:
      'Commands run in order; each is validated and answered on its own (`result` or `error`), so ' +
      'one bad command does not stop the others. Not a transaction. Idempotency keys go in the ' +
      '`params` of each publish or broadcast (the `Idempotency-Key` header is refused here).',
    tag: 'publishing',
    auth: true,
    body: s.batchBody,
    response: s.batchResult,
    errors: [ErrorCode.PAYLOAD_TOO_LARGE, ErrorCode.LIMIT_BATCH],
  },
  {
    method: 'get',
    path: `${APP}/channels`,
    operationId: 'channels',
    summary: 'List active channels',
    description: 'Channels with at least one subscriber, with their subscriber counts.',
    tag: 'channels',
    auth: true,
    query: s.channelsQuery,
    response: s.channelsResult,
    errors: [],
  },
  {
    method: 'get',
    path: `${APP}/channels/{channel}/presence`,
    operationId: 'presence',
    summary: 'Presence members of a channel',
    description: 'Needs `presence: true` in the channel namespace. URL-encode the channel (`#` is `%23`).',
    tag: 'channels',
    auth: true,
    response: s.presenceResult,
    errors: [ErrorCode.UNKNOWN_CHANNEL, ErrorCode.NOT_AVAILABLE],
  },
  {
    method: 'get',
    path: `${APP}/channels/{channel}/presence_stats`,
    operationId: 'presenceStats',
    summary: 'Presence counts of a channel',
    tag: 'channels',
    auth: true,
    response: s.presenceStatsResult,
    errors: [ErrorCode.UNKNOWN_CHANNEL, ErrorCode.NOT_AVAILABLE],
  },
  {
    method: 'get',
    path: `${APP}/channels/{channel}/history`,
    operationId: 'history',
    summary: 'Publications kept in a channel stream',
    description:
      'Needs `historySize > 0` in the channel namespace. With `since_offset` and `since_epoch`, ' +
      'returns what came after that position, or `unrecoverable_position` when the epoch changed.',
    tag: 'channels',
    auth: true,
    query: s.historyQueryObject,
    response: s.historyResult,
    errors: [ErrorCode.UNKNOWN_CHANNEL, ErrorCode.NOT_AVAILABLE, ErrorCode.UNRECOVERABLE_POSITION],
  },
  {
    method: 'post',
    path: `${APP}/users/{user}/disconnect`,
    operationId: 'disconnectUser',
    summary: 'Disconnect every connection of a user',
    description:
      'On every node; clients are closed with `force_disconnect` (terminal: they do not reconnect).',
    tag: 'users',
    auth: true,
    body: s.emptyBody,
    response: s.emptyResult,
    errors: [ErrorCode.PAYLOAD_TOO_LARGE],
  },
  {
    method: 'post',
    path: `${APP}/users/{user}/unsubscribe`,
    operationId: 'unsubscribeUser',
    summary: 'Unsubscribe a user from a channel',
    tag: 'users',
    auth: true,
    body: s.unsubscribeBody,
    response: s.emptyResult,
    errors: [ErrorCode.UNKNOWN_CHANNEL, ErrorCode.PAYLOAD_TOO_LARGE],
  },
  {
    method: 'post',
    path: `${APP}/users/{user}/revoke_tokens`,
    operationId: 'revokeUserTokens',
    summary: 'Revoke the tokens of a user',
    description:
      'Tokens of the user issued before `issued_before` are refused at connect and refresh, and live ' +
      'connections using them are closed with `token_revoked`, on every node.',
    tag: 'tokens',
    auth: true,
    body: s.revokeUserTokensBody,
    response: s.emptyResult,
    errors: [ErrorCode.PAYLOAD_TOO_LARGE],
  },
  {
    method: 'post',
    path: `${APP}/tokens/revoke`,
    operationId: 'revokeToken',
    summary: 'Revoke one token by its jti',
    tag: 'tokens',
    auth: true,
    body: s.revokeTokenBody,
    response: s.emptyResult,
    errors: [ErrorCode.PAYLOAD_TOO_LARGE],
  },
  {
    method: 'post',
    path: `${APP}/tickets`,
    operationId: 'mintTicket',
    summary: 'Mint a single-use connection ticket',
    description:
      'For clients that cannot hold a JWT, or to keep tokens out of URLs: the ticket stands in for a ' +
      'connection token once, within its lifetime (`tickets.ttlSeconds`, 60 s by default).',
    tag: 'tokens',
    auth: true,
    body: s.ticketBody,
    response: s.ticketResult,
    errors: [ErrorCode.PAYLOAD_TOO_LARGE],
  },
  {
    method: 'get',
    path: `${APP}/info`,
    operationId: 'info',
    summary: 'Node answering and the app connections on it',
    tag: 'node',
    auth: true,
    response: s.infoResult,
    errors: [],
  },
  {
    method: 'get',
    path: '/v1/openapi.json',
    operationId: 'openapi',
    summary: 'This document',
    tag: 'meta',
    auth: false,
    produces: 'application/json',
    errors: [],
  },
  {
    method: 'get',
    path: '/docs',
    operationId: 'docs',
    summary: 'Swagger UI for this document',
    tag: 'meta',
    auth: false,
    produces: 'text/html',
    errors: [],
  },
  {
    method: 'get',
    path: '/docs/{file}',
    operationId: 'docsAsset',
    summary: 'Static files of the Swagger UI',
    tag: 'meta',
    auth: false,
    produces: 'application/octet-stream',
    errors: [ErrorCode.METHOD_NOT_FOUND],
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'live',
    summary: 'Liveness: the process serves HTTP',
    tag: 'health',
    auth: false,
    response: s.healthResult,
    errors: [],
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'ready',
    summary: 'Readiness: 200 when the node takes traffic, 503 when draining or a dependency is down',
    tag: 'health',
    auth: false,
    response: s.healthResult,
    alsoAnswers: {
      status: 503,
      description: 'Not ready: `draining`, or `unavailable` with the failing checks.',
    },
    errors: [],
  },
];
