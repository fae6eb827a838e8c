import { runMain } from '@herald/runtime';
import { PushDispatcherModule } from './push-dispatcher.module.js';

runMain({ role: 'push-dispatcher', module: (c) => PushDispatcherModule.forRoot(c), websocket: false });
