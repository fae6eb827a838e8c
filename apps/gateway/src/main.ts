import { runMain } from '@herald/runtime';
import { GatewayModule } from './gateway.module.js';

runMain({ role: 'gateway', module: (c) => GatewayModule.forRoot(c), websocket: true });
