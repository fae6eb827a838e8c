import { runMain } from '@herald/runtime';
import { WebhookDispatcherModule } from './webhook-dispatcher.module.js';

runMain({ role: 'webhook-dispatcher', module: (c) => WebhookDispatcherModule.forRoot(c), websocket: false });
