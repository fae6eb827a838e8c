import { Test } from '@nestjs/testing';
import { nodeConfigSchema } from '@herald/config';
import { WebhookDispatcher, WebhookMetrics } from '@herald/webhooks';
import { WebhookDispatcherModule } from './webhook-dispatcher.module.js';

describe('WebhookDispatcherModule', () => {
  it('boots with the dispatcher and its metrics', async () => {
    const config = nodeConfigSchema.parse({ log: { level: 'silent' }, control: { driver: 'config' } });
    const moduleRef = await Test.createTestingModule({
      imports: [WebhookDispatcherModule.forRoot(config)],
    }).compile();
    const app = moduleRef.createNestApplication();
    await app.init();
    expect(app.get(WebhookDispatcher)).toBeInstanceOf(WebhookDispatcher);
    expect((await app.get(WebhookMetrics).snapshot()).backlog).toBe(0);
    await app.close();
  });
});
