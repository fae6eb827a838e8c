import { Injectable } from '@nestjs/common';
import { SessionSupervisor } from '@herald/core';
import type { HealthIndicator } from './health-indicator.js';

/**
 * Not ready once the node drains (shutdown began): the load balancer stops sending new connections
 * and requests here while existing sessions are closed over the drain window.
 */
@Injectable()
export class DrainHealthIndicator implements HealthIndicator {
  static readonly NAME = 'drain';
  readonly name = DrainHealthIndicator.NAME;

  constructor(private readonly supervisor: SessionSupervisor) {}

  async ready(): Promise<boolean> {
    return !this.supervisor.draining;
  }
}
