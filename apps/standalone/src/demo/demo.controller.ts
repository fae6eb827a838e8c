import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Inject,
  NotFoundException,
  Optional,
  Post,
} from '@nestjs/common';
import type { AppConfig } from '@herald/config';
import { signConnectionToken } from '@herald/auth';
import { USAGE_METER, type UsageMeter, type UsageSnapshotProvider } from '@herald/control';
import { CHAT_PAGE, DASHBOARD_PAGE, INDEX_PAGE } from './pages.js';

export const DEMO_APP = Symbol('DemoApp');

/** Demo tokens live an hour; the pages refresh them through the SDK's getToken before expiry. */
const DEMO_TOKEN_SECONDS = 3600;
const USER_RE = /^demo-[0-9a-f]{12}$/;
const NAME_RE = /^[\p{L}\p{N} _.-]{1,32}$/u;

/** The repository root: the nearest folder above this module with a package.json (source or dist). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

@Controller()
export class DemoController {
  private readonly bundlePath = join(repoRoot(), 'dist', 'sdk', 'herald.js');

  constructor(
    @Inject(DEMO_APP) private readonly app: AppConfig,
    @Optional() @Inject(USAGE_METER) private readonly meter?: UsageMeter,
  ) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  index(): string {
    return INDEX_PAGE;
  }

  @Get('demo/chat')
  @Header('content-type', 'text/html; charset=utf-8')
  chat(): string {
    return CHAT_PAGE;
  }

  @Get('demo/dashboard')
  @Header('content-type', 'text/html; charset=utf-8')
  dashboard(): string {
    return DASHBOARD_PAGE;
  }

  @Get('demo/herald.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'no-cache')
  bundle(): string {
    if (!existsSync(this.bundlePath))
      throw new NotFoundException('SDK bundle not built: run `npm run build` (it writes dist/sdk/herald.js)');
    return readFileSync(this.bundlePath, 'utf8');
  }

  /**
   * This node's counters for the demo app, for the dashboard's rate plot: messages published and
   * delivered (one per subscriber reached) since the process started, and live connections. Read
   * from the usage meter the node keeps anyway (the same numbers as `herald_messages_*` on
   * /metrics), so the page plots the node's real rates, not only its own traffic. Development
   * only, like the whole module; one app, never another tenant's numbers.
   */
  @Get('demo/stats')
  @Header('cache-control', 'no-store')
  stats(): { app: string; at: number; connections: number; published: number; delivered: number } {
    const meter = this.meter;
    const snapshot =
      meter && typeof (meter as Partial<UsageSnapshotProvider>).snapshot === 'function'
        ? (meter as UsageMeter & UsageSnapshotProvider).snapshot().get(this.app.id)
        : undefined;
    return {
      app: this.app.id,
      at: Date.now(),
      connections: snapshot?.connections ?? 0,
      published: snapshot?.published ?? 0,
      delivered: snapshot?.delivered ?? 0,
    };
  }

  /**
   * A connection token for the demo app, for a random demo user carrying the display name in
   * `info` (presence). The app secret never reaches the page: the node signs here, as a tenant
   * backend would.
   */
  @Post('demo/token')
  @HttpCode(200)
  token(@Body() body: { name?: unknown; user?: unknown } | undefined): {
    key: string;
    token: string;
    user: string;
    name: string;
  } {
    const raw = typeof body?.name === 'string' ? body.name.trim() : '';
    const name = NAME_RE.test(raw) ? raw : `guest-${randomBytes(2).toString('hex')}`;
    // A refresh keeps the user (the server refuses a refreshed token for another user: 211).
    const user =
      typeof body?.user === 'string' && USER_RE.test(body.user)
        ? body.user
        : `demo-${randomBytes(6).toString('hex')}`;
    const token = signConnectionToken(
      this.app,
      { sub: user, info: { name } },
      { expiresInSeconds: DEMO_TOKEN_SECONDS },
    );
    return { key: this.app.keys[0], token, user, name };
  }
}
