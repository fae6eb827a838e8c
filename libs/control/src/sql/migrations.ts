/**
 * The schema of the control plane, as ordered migrations that run unchanged on PGlite and on
 * PostgreSQL. Applied at start by `migrate`: each one once, in order, inside one transaction that
 * also records it in `herald_migrations`, under an advisory lock so nodes of a cluster starting
 * together do not race. Never edit a released migration: add the next one.
 *
 * Tenancy: every tenant-owned row carries `app_id` and every unique key that a tenant chooses
 * (device tokens, webhook ids) is unique per app, so two apps with identical values never collide.
 * Client keys are the exception on purpose: they are globally unique, because a connection URL
 * carries only the key and the key must name exactly one app.
 */
import type { SqlClient } from './sql-client.js';

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'control plane',
    sql: `
CREATE TABLE control_meta (
  name text PRIMARY KEY,
  value bytea NOT NULL
);

CREATE TABLE apps (
  id text PRIMARY KEY,
  name text NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  managed_by text NOT NULL CHECK (managed_by IN ('api', 'file')),
  allowed_origins jsonb NOT NULL DEFAULT '[]',
  namespaces jsonb NOT NULL,
  limits jsonb NOT NULL,
  personal_channel boolean NOT NULL DEFAULT true,
  public_keys jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE client_keys (
  key text PRIMARY KEY,
  app_id text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  label text,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX client_keys_app ON client_keys (app_id);

CREATE TABLE server_secrets (
  id text PRIMARY KEY,
  app_id text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  label text,
  scopes text[] NOT NULL,
  sealed bytea NOT NULL,
  hint text NOT NULL,
  position integer NOT NULL,
  rotated_from text,
  created_at timestamptz NOT NULL DEFAULT now(),
  retires_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX server_secrets_app ON server_secrets (app_id);

CREATE TABLE webhook_endpoints (
  id text PRIMARY KEY,
  app_id text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  url text NOT NULL,
  events text[] NOT NULL,
  sealed_secret bytea NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_app ON webhook_endpoints (app_id);

CREATE TABLE push_credentials (
  app_id text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  provider text NOT NULL CHECK (provider IN ('apns', 'fcm')),
  metadata jsonb NOT NULL,
  sealed bytea NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (app_id, provider)
);

CREATE TABLE devices (
  app_id text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  platform text NOT NULL CHECK (platform IN ('apns', 'fcm')),
  token text NOT NULL,
  user_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (app_id, platform, token)
);
CREATE INDEX devices_user ON devices (app_id, user_id);

CREATE TABLE usage_daily (
  app_id text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  day date NOT NULL,
  node_id text NOT NULL,
  peak_connections integer NOT NULL DEFAULT 0,
  messages_published bigint NOT NULL DEFAULT 0,
  messages_delivered bigint NOT NULL DEFAULT 0,
  pushes_sent bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, day, node_id)
);
`,
  },
  {
    // Mobile push (issue 6): device details the dispatcher needs (APNs bundle id / FCM project,
    // locale, topics) and the push dead-letter store behind the admin list and replay routes.
    id: 3,
    name: 'push devices and dead letters',
    sql: `
ALTER TABLE devices ADD COLUMN target text;
ALTER TABLE devices ADD COLUMN locale text;
ALTER TABLE devices ADD COLUMN topics text[] NOT NULL DEFAULT '{}';

CREATE TABLE push_dead_letters (
  id text PRIMARY KEY,
  app_id text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  user_id text NOT NULL,
  message_id text NOT NULL,
  job jsonb NOT NULL,
  reason text NOT NULL,
  attempts integer NOT NULL,
  last_error text,
  dead_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_dead_letters_app ON push_dead_letters (app_id, dead_at);
`,
  },
  {
    // Webhooks (issue 7): endpoint options (channel prefixes, a second secret during rotation, the
    // Pusher format) and the durable delivery outbox shared by every webhook-dispatcher replica
    // (libs/webhooks SqlWebhookStore). Times in the outbox are epoch milliseconds of the
    // dispatchers' clocks (bigint), as the store's interface passes them.
    id: 4,
    name: 'webhook options and delivery outbox',
    sql: `
ALTER TABLE webhook_endpoints ADD COLUMN channel_prefixes text[] NOT NULL DEFAULT '{}';
ALTER TABLE webhook_endpoints ADD COLUMN format text NOT NULL DEFAULT 'standard' CHECK (format IN ('standard', 'pusher'));
ALTER TABLE webhook_endpoints ADD COLUMN sealed_previous_secret bytea;
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_expires_at timestamptz;

CREATE TABLE webhook_outbox_endpoints (
  app_id text NOT NULL,
  endpoint_id text NOT NULL,
  batch_id text,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL DEFAULT 0,
  last_error text,
  lease_owner text,
  lease_until bigint NOT NULL DEFAULT 0,
  disabled boolean NOT NULL DEFAULT false,
  PRIMARY KEY (app_id, endpoint_id)
);

CREATE TABLE webhook_outbox (
  seq bigserial PRIMARY KEY,
  app_id text NOT NULL,
  endpoint_id text NOT NULL,
  event_id text NOT NULL,
  event jsonb NOT NULL,
  queued_at bigint NOT NULL,
  bytes integer NOT NULL,
  batch_id text
);
CREATE INDEX webhook_outbox_endpoint ON webhook_outbox (app_id, endpoint_id, seq);
CREATE INDEX webhook_outbox_batch ON webhook_outbox (batch_id);

CREATE TABLE webhook_outbox_seen (
  app_id text NOT NULL,
  endpoint_id text NOT NULL,
  event_id text NOT NULL,
  seen_at bigint NOT NULL,
  PRIMARY KEY (app_id, endpoint_id, event_id)
);
CREATE INDEX webhook_outbox_seen_at ON webhook_outbox_seen (seen_at);

CREATE TABLE webhook_dead_letters (
  seq bigserial PRIMARY KEY,
  app_id text NOT NULL,
  endpoint_id text NOT NULL,
  event_id text NOT NULL,
  event jsonb NOT NULL,
  reason text NOT NULL,
  attempts integer NOT NULL,
  dead_at bigint NOT NULL,
  last_error text
);
CREATE INDEX webhook_dead_letters_app ON webhook_dead_letters (app_id, seq);
`,
  },
];

/** Arbitrary constant naming Herald's migration lock among the database's advisory locks. */
const MIGRATION_LOCK = 48_157_005;

/** Applies the migrations not applied yet; returns their ids. Idempotent. */
export async function migrate(
  client: SqlClient,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  return client.transaction(async (tx) => {
    // Lock first: two nodes creating the bookkeeping table at once would otherwise race in pg_type.
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS herald_migrations (
         id integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const done = new Set(
      (await tx.query<{ id: number }>('SELECT id FROM herald_migrations')).map((r) => Number(r.id)),
    );
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.id - b.id)) {
      if (done.has(m.id)) continue;
      for (const statement of splitStatements(m.sql)) await tx.query(statement);
      await tx.query('INSERT INTO herald_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
      applied.push(m.id);
    }
    return applied;
  });
}

/** Migrations hold plain DDL (no functions or quoted semicolons), so ";" at a line end splits them. */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
