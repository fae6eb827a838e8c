import { Module } from '@nestjs/common';
import { ClientService } from './client.service.js';
import { CoreMetrics } from './core-metrics.js';
import { Hub } from './hub.js';
import { PublishService } from './publish.service.js';
import { ServerApiService } from './server-api.service.js';
import { SessionSupervisor } from './supervisor.js';
import { UserPublishService } from './user-publish.service.js';
import { WriteScheduler } from './write-scheduler.js';

/**
 * Sessions, hub, fan-out, recovery and publishing. Depends on ports only (their modules are
 * global and chosen by the app's composition root).
 */
@Module({
  providers: [
    Hub,
    PublishService,
    ClientService,
    ServerApiService,
    SessionSupervisor,
    WriteScheduler,
    CoreMetrics,
    UserPublishService,
  ],
  exports: [
    Hub,
    PublishService,
    ClientService,
    ServerApiService,
    SessionSupervisor,
    WriteScheduler,
    UserPublishService,
  ],
})
export class CoreModule {}
