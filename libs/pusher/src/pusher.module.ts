import {
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { NODE_CONFIG, type NodeConfig } from '@herald/config';
import { CoreModule, setChannelOptionsRule } from '@herald/core';
import { RealtimeModule } from '@herald/realtime';
import { channelOptionsRule } from './channels.js';
import { PusherHttpController } from './pusher-http.controller.js';
import { PusherEndpoint } from './pusher.endpoint.js';
import { PusherWebhookEvents } from './pusher-webhook-events.js';

/** Nodes of this process that installed the rule (tests run several in one process). */
let installed = 0;

/**
 * Installs the Pusher channel prefixes' meaning (channels.ts) in this process's channel resolution,
 * and removes it when the last node that installed it closes, so a node started later without the
 * Pusher protocol does not inherit it.
 */
@Injectable()
class PusherChannelRules implements OnModuleInit, OnModuleDestroy {
  constructor(@Inject(NODE_CONFIG) private readonly config: NodeConfig) {}

  onModuleInit(): void {
    installed++;
    setChannelOptionsRule(channelOptionsRule(this.config.pusher.cacheTtlSeconds));
  }

  onModuleDestroy(): void {
    if (--installed === 0) setChannelOptionsRule(undefined);
  }
}

export interface PusherModuleOptions {
  /** Serve `/app/{key}` (processes with client connections: gateway, standalone). */
  websocket: boolean;
  /** Serve the HTTP API at `/apps/{app_id}/` (processes with the REST API: api, standalone). */
  http: boolean;
}

/**
 * Pusher Channels protocol compatibility (docs/pusher.md): an adapter over Herald's sessions and
 * publishing, not a second broker. Import it only when `pusher.enabled` is set; every process
 * that resolves channels (api and gateway alike) must import it so Pusher prefixes mean the same
 * everywhere.
 */
@Module({})
export class PusherModule {
  static forRoot(options: PusherModuleOptions): DynamicModule {
    return {
      module: PusherModule,
      imports: [CoreModule, ...(options.websocket ? [RealtimeModule] : [])],
      controllers: options.http ? [PusherHttpController] : [],
      providers: [PusherChannelRules, ...(options.websocket ? [PusherEndpoint, PusherWebhookEvents] : [])],
    };
  }
}
