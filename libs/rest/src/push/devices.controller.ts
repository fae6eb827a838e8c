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
  Query,
  UseGuards,
} from '@nestjs/common';
import type { z } from 'zod';
import { NODE_CONFIG, type AppConfig, type NodeConfig } from '@herald/config';
import { DEVICE_STORE, type DevicePlatform, type DeviceRecord, type DeviceStore } from '@herald/control';
import { ErrorCode, HeraldError } from '@herald/protocol';
import { CurrentApp } from '../current-app.js';
import { parseBody, parseQuery } from '../parse.js';
import { requireUser } from '../rest-commands.js';
import { emptyResult, noQuery } from '../schemas.js';
import { DeviceAuthGuard } from './device-auth.guard.js';
import * as d from './devices.schemas.js';

type Out<T extends z.ZodType> = z.output<T>;

function deviceBody(r: DeviceRecord): Out<typeof d.device> {
  return {
    platform: r.platform,
    token: r.token,
    user: r.userId,
    ...(r.target !== undefined ? { target: r.target } : {}),
    ...(r.locale !== undefined ? { locale: r.locale } : {}),
    topics: r.topics,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  };
}

function platformOf(value: string): DevicePlatform {
  if (value !== 'apns' && value !== 'fcm')
    throw new HeraldError(ErrorCode.BAD_REQUEST, 'platform is apns or fcm');
  return value;
}

function checkToken(platform: DevicePlatform, token: string): void {
  if (!d.isValidDeviceToken(platform, token)) {
    throw new HeraldError(
      ErrorCode.INVALID_DEVICE_TOKEN,
      platform === 'apns'
        ? 'APNs device tokens are 64 or more hex digits'
        : 'FCM registration tokens are 1-4096 characters of A-Z a-z 0-9 _ : -',
    );
  }
}

/**
 * Device registration (docs/push.md): a user's push devices, managed by the tenant's server (server
 * secret) or by the device's app for its own user (connection token). Devices live in the SQL
 * control store; on the `config` control driver these routes answer `not_available`.
 */
@Controller('v1/apps/:app/users/:user/devices')
@UseGuards(DeviceAuthGuard)
export class DevicesController {
  constructor(
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    @Optional() @Inject(DEVICE_STORE) private readonly devices?: DeviceStore,
  ) {}

  private store(): DeviceStore {
    if (!this.devices)
      throw new HeraldError(
        ErrorCode.NOT_AVAILABLE,
        'devices need the SQL control store (control.driver pglite or postgres)',
      );
    return this.devices;
  }

  @Post()
  @HttpCode(200)
  async register(
    @CurrentApp() app: AppConfig,
    @Param('user') user: string,
    @Body() body: unknown,
  ): Promise<Out<typeof d.deviceResult>> {
    const b = parseBody(d.registerDeviceBody, body);
    checkToken(b.platform, b.token);
    const record = await this.store().registerDevice(
      app.id,
      {
        platform: b.platform,
        token: b.token,
        userId: requireUser(user),
        ...(b.target !== undefined ? { target: b.target } : {}),
        ...(b.locale !== undefined ? { locale: b.locale } : {}),
        ...(b.topics !== undefined ? { topics: b.topics } : {}),
      },
      { maxPerUser: this.config.push.maxDevicesPerUser },
    );
    return { device: deviceBody(record) };
  }

  @Get()
  async list(
    @CurrentApp() app: AppConfig,
    @Param('user') user: string,
    @Query() query: unknown,
  ): Promise<Out<typeof d.deviceListResult>> {
    parseQuery(noQuery, query);
    return { devices: (await this.store().listDevices(app.id, requireUser(user))).map(deviceBody) };
  }

  @Patch(':platform/:token')
  async update(
    @CurrentApp() app: AppConfig,
    @Param('user') user: string,
    @Param('platform') platform: string,
    @Param('token') token: string,
    @Body() body: unknown,
  ): Promise<Out<typeof d.deviceResult>> {
    const b = parseBody(d.updateDeviceBody, body);
    const record = await this.store().updateDevice(app.id, requireUser(user), platformOf(platform), token, b);
    if (!record) throw new HeraldError(ErrorCode.DEVICE_NOT_FOUND);
    return { device: deviceBody(record) };
  }

  @Delete(':platform/:token')
  async remove(
    @CurrentApp() app: AppConfig,
    @Param('user') user: string,
    @Param('platform') platform: string,
    @Param('token') token: string,
  ): Promise<Out<typeof emptyResult>> {
    if (!(await this.store().deleteDevice(app.id, platformOf(platform), token, requireUser(user))))
      throw new HeraldError(ErrorCode.DEVICE_NOT_FOUND);
    return {};
  }
}
