import { createPgliteDatabase, createPostgresDatabase } from '@herald/control/testing';
import { describeWithService, webhookStoreContract } from '@herald/testing';
import { SqlWebhookStore } from './sql.webhook-store.js';

// The embedded driver: PGlite allows one open instance per directory, so no second replica.
webhookStoreContract('SqlWebhookStore on PGlite', async () => {
  const db = await createPgliteDatabase();
  return { store: new SqlWebhookStore(db.client), teardown: () => db.drop() };
});

// The cluster driver: a fresh database per test; `another` is a second dispatcher's connection pool.
describeWithService('postgres', 'SqlWebhookStore on PostgreSQL', (url) => {
  webhookStoreContract('SqlWebhookStore on PostgreSQL', async () => {
    const db = await createPostgresDatabase(url);
    return {
      store: new SqlWebhookStore(db.client),
      another: async () => new SqlWebhookStore(await db.reopen()),
      teardown: () => db.drop(),
    };
  });
});
