import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { healthResult } from '../schemas.js';
import { DrainHealthIndicator } from './drain.health-indicator.js';
import { HEALTH_INDICATORS, READY_TIMEOUT_MS, type HealthIndicator } from './health-indicator.js';

type HealthBody = z.output<typeof healthResult>;

async function check(indicator: HealthIndicator): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
  });
  try {
    return await Promise.race([indicator.ready().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function send(res: ServerResponse, status: number, body: HealthBody): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify(body));
}

/** Probes for orchestrators; unauthenticated and cheap. */
@Controller()
export class HealthController {
  constructor(@Inject(HEALTH_INDICATORS) private readonly indicators: HealthIndicator[]) {}

  /** Liveness: the process answers HTTP. Nothing else: a failing dependency must not restart us. */
  @Get('healthz')
  live(): HealthBody {
    return { status: 'ok' };
  }

  /** Readiness: 200 when every indicator is ready; 503 `draining` first, else `unavailable`. */
  @Get('readyz')
  async ready(@Res() res: ServerResponse): Promise<void> {
    const results = await Promise.all(this.indicators.map(check));
    const failing = this.indicators.filter((_, i) => !results[i]).map((i) => i.name);
    if (failing.length === 0) return send(res, 200, { status: 'ok' });
    if (failing.includes(DrainHealthIndicator.NAME)) return send(res, 503, { status: 'draining' });
    send(res, 503, { status: 'unavailable', failing });
  }
}
