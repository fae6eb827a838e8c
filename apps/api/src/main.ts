import { runMain } from '@herald/runtime';
import { ApiModule } from './api.module.js';

runMain({ role: 'api', module: (c) => ApiModule.forRoot(c), websocket: false });
