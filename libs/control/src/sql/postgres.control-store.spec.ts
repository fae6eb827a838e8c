import { controlStoreContract, createPostgresDatabase } from '@herald/control/testing';
import { describeWithService } from '@herald/testing';

// The cluster driver: a fresh database per test on the server `scripts/infra.sh up postgres` started.
describeWithService('postgres', 'PostgreSQL control store', (url) => {
  controlStoreContract('PostgreSQL', () => createPostgresDatabase(url));
});
