import { runMain } from '@herald/runtime';
import { StandaloneModule } from './standalone.module.js';

runMain({ role: 'standalone', module: (c) => StandaloneModule.forRoot(c), websocket: true });
