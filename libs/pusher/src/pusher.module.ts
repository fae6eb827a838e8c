import { Inject, Injectable, Module, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { NODE_CONFIG, type NodeConfig } from '@herald/config';
import { CoreModule, setChannelOptionsRule } from '@herald/core';
import { RealtimeModule } from '@herald/realtime';
import { channelOptionsRule } from './channels.js';
import { PusherHttpController } from './pusher-http.controller.js';
import { PusherEndpoint } from './pusher.endpoint.js';

/** Installs the Pusher channel prefixes' meaning (channels.ts) in this process's channel resolution. */
@Injectable()
class PusherChannelRules implements OnModuleInit {
  constructor(@Inject(NODE_CONFIG) private readonly config: NodeConfig) {}

  onModuleInit(): void {
    setChannelOptionsRule(channelOptionsRule(this.config.pusher.cacheTtlSeconds));
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
      providers: [PusherChannelRules, ...(options.websocket ? [PusherEndpoint] : [])],
    };
  }
}
