import { Module, type OnModuleInit } from '@nestjs/common';
import { ErrorCode } from '@herald/protocol';
import { registerOpenApiExtension, type OpenApiExtension } from '../openapi.js';
import type { RouteSpec } from '../routes.js';
import { emptyResult } from '../schemas.js';
import { DeviceAuthGuard } from './device-auth.guard.js';
import { DevicesController } from './devices.controller.js';
import * as d from './devices.schemas.js';

const DEVICES = '/v1/apps/{app}/users/{user}/devices';
const ONE = `${DEVICES}/{platform}/{token}`;
const DEVICE_ERRORS = [ErrorCode.PERMISSION_DENIED, ErrorCode.NOT_AVAILABLE, ErrorCode.PAYLOAD_TOO_LARGE];
const DESCRIPTION =
  'Authenticated with a server secret, or with a connection token of the user in the path (a client ' +
  'may manage only its own devices).';

function route(r: Omit<RouteSpec, 'auth' | 'tag'>): RouteSpec {
  return { ...r, tag: 'devices', auth: true, description: `${r.description ?? ''} ${DESCRIPTION}`.trim() };
}

/** The device routes, documented in `/v1/openapi.json` next to the rest of REST API v1. */
export const DEVICE_ROUTES: readonly RouteSpec[] = [
  route({
    method: 'post',
    path: DEVICES,
    operationId: 'registerDevice',
    summary: 'Register a push device of a user',
    description: `At most \`push.maxDevicesPerUser\` devices per user (10 by default): one more is \`limit_devices\`.`,
    body: d.registerDeviceBody,
    response: d.deviceResult,
    errors: [...DEVICE_ERRORS, ErrorCode.INVALID_DEVICE_TOKEN, ErrorCode.LIMIT_DEVICES],
  }),
  route({
    method: 'get',
    path: DEVICES,
    operationId: 'listDevices',
    summary: 'List the push devices of a user',
    response: d.deviceListResult,
    errors: DEVICE_ERRORS,
  }),
  route({
    method: 'patch',
    path: ONE,
    operationId: 'updateDevice',
    summary: 'Change the details of a device',
    body: d.updateDeviceBody,
    response: d.deviceResult,
    errors: [...DEVICE_ERRORS, ErrorCode.DEVICE_NOT_FOUND],
  }),
  route({
    method: 'delete',
    path: ONE,
    operationId: 'deleteDevice',
    summary: 'Remove a device',
    response: emptyResult,
    errors: [...DEVICE_ERRORS, ErrorCode.DEVICE_NOT_FOUND],
  }),
];

export const DEVICES_OPENAPI: OpenApiExtension = {
  routes: DEVICE_ROUTES,
  tags: [{ name: 'devices', description: 'Push devices of users (docs/push.md).' }],
  pathParams: {
    platform: {
      name: 'platform',
      in: 'path',
      required: true,
      description: '`apns` or `fcm`.',
      schema: { type: 'string', enum: ['apns', 'fcm'] },
    },
    token: {
      name: 'token',
      in: 'path',
      required: true,
      description: 'The device token, URL-encoded.',
      schema: { type: 'string' },
    },
  },
};

/**
 * Device registration routes (docs/push.md). Imported by the api and standalone apps after
 * RestModule; needs AuthModule's TokenVerifier and, to be useful, the SQL control store.
 */
@Module({
  controllers: [DevicesController],
  providers: [DeviceAuthGuard],
})
export class PushRestModule implements OnModuleInit {
  onModuleInit(): void {
    registerOpenApiExtension(DEVICES_OPENAPI);
  }
}
