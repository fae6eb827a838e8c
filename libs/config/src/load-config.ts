/**
 * Loads a node's configuration: an optional YAML/JSON file, then environment overrides, then the
 * schema (defaults and validation), then the environment policy (a generated `dev` app in
 * development; refusals in production). Pure apart from reading the named file: the caller passes
 * argv and env, so tests never touch process state.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { nodeConfigSchema, type AppConfigInput } from './schema.js';
import type { AppConfig, NodeConfig } from './types.js';

/** Every problem found, one per line, so an operator fixes them all in one go. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly problems: readonly string[] = [],
  ) {
    super(problems.length ? `${message}\n${problems.map((p) => `  - ${p}`).join('\n')}` : message);
    this.name = 'ConfigError';
  }
}

export type EnvKind = 'string' | 'integer' | 'list' | 'enum';

export interface EnvVariable {
  name: string;
  /** Config path the variable sets, or a pseudo path for the env app. */
  target: string;
  kind: EnvKind;
  description: string;
}

/**
 * The environment mapping, in one place: the loader applies it and docs/configuration.md lists it.
 * Environment values override the file.
 */
export const ENV_VARIABLES: readonly EnvVariable[] = [
  {
    name: 'HERALD_CONFIG',
    target: '(file)',
    kind: 'string',
    description: 'Path of a .yaml, .yml or .json config file (`--config <path>` takes precedence).',
  },
  { name: 'HERALD_ENV', target: 'env', kind: 'enum', description: '`development` or `production`.' },
  { name: 'HERALD_HOST', target: 'http.host', kind: 'string', description: 'Interface to listen on.' },
  { name: 'HERALD_PORT', target: 'http.port', kind: 'integer', description: 'Port to listen on.' },
  { name: 'HERALD_NODE_ID', target: 'nodeId', kind: 'string', description: 'Unique id of this node.' },
  {
    name: 'HERALD_NEW_CONNECTIONS_PER_SECOND',
    target: 'newConnectionsPerSecond',
    kind: 'integer',
    description: 'New connections this node accepts per second (burst 2x); the rest are shed with 3009.',
  },
  {
    name: 'HERALD_DRAIN_SECONDS',
    target: 'shutdown.drainSeconds',
    kind: 'integer',
    description: 'Window over which sessions are closed on SIGTERM.',
  },
  {
    name: 'HERALD_LOG_LEVEL',
    target: 'log.level',
    kind: 'enum',
    description: '`debug`, `info`, `warn`, `error` or `silent`.',
  },
  {
    name: 'HERALD_REDIS_URL',
    target: 'redis.url',
    kind: 'string',
    description: 'Redis URL of the `redis` drivers (`redis://[user:password@]host:port[/db]`); never logged.',
  },
  {
    name: 'HERALD_REDIS_KEY_PREFIX',
    target: 'redis.keyPrefix',
    kind: 'string',
    description: 'Prefix of every Redis key (default `herald:`).',
  },
  {
    name: 'HERALD_REDIS_COMMAND_TIMEOUT_MS',
    target: 'redis.commandTimeoutMilliseconds',
    kind: 'integer',
    description: 'A Redis call fails (503 at the API) after this many milliseconds.',
  },
  {
    name: 'HERALD_BUS_DRIVER',
    target: 'drivers.bus',
    kind: 'enum',
    description: '`memory` (default) or `kafka`.',
  },
  {
    name: 'HERALD_PRESENCE_DRIVER',
    target: 'drivers.presence',
    kind: 'enum',
    description: '`memory` (default) or `redis`.',
  },
  {
    name: 'HERALD_HISTORY_DRIVER',
    target: 'drivers.history',
    kind: 'enum',
    description: '`memory` (default) or `redis`.',
  },
  {
    name: 'HERALD_STATE_DRIVER',
    target: 'drivers.state',
    kind: 'enum',
    description: '`memory` (default) or `redis`.',
  },
  {
    name: 'HERALD_PUSHER_ACTIVITY_TIMEOUT_SECONDS',
    target: 'pusher.activityTimeoutSeconds',
    kind: 'integer',
    description: '`activity_timeout` announced to Pusher clients (default 120).',
  },
  {
    name: 'HERALD_WEBHOOKS_RETENTION_HOURS',
    target: 'webhooks.retentionHours',
    kind: 'integer',
    description: 'How long undelivered webhooks are retried before they are dead-lettered (default 72).',
  },
  {
    name: 'HERALD_WEBHOOKS_STORE',
    target: 'webhooks.store',
    kind: 'enum',
    description: '`auto` (default: `sql` with a postgres control plane), `memory` or `sql`.',
  },
  {
    name: 'HERALD_WEBHOOKS_ALLOW_NETWORKS',
    target: 'webhooks.allowNetworks',
    kind: 'list',
    description: 'Comma-separated IPs or CIDRs that webhook endpoints may resolve to although private.',
  },
  {
    name: 'HERALD_PUSH_MAX_DEVICES_PER_USER',
    target: 'push.maxDevicesPerUser',
    kind: 'integer',
    description: 'Devices one user may register per app (default 10).',
  },
  {
    name: 'HERALD_KAFKA_BROKERS',
    target: 'kafka.brokers',
    kind: 'list',
    description: 'Comma-separated bootstrap brokers, `host:port` (bus driver `kafka`).',
  },
  {
    name: 'HERALD_KAFKA_CLIENT_ID',
    target: 'kafka.clientId',
    kind: 'string',
    description: 'Client id sent to Kafka (default `herald`).',
  },
  {
    name: 'HERALD_KAFKA_PARTITIONS',
    target: 'kafka.partitions',
    kind: 'integer',
    description: 'Partitions of the topics Herald creates (default 16).',
  },
  {
    name: 'HERALD_KAFKA_REPLICATION_FACTOR',
    target: 'kafka.replicationFactor',
    kind: 'integer',
    description: 'Replicas of the topics Herald creates (default 1).',
  },
  {
    name: 'HERALD_KAFKA_TOPIC_PREFIX',
    target: 'kafka.topicPrefix',
    kind: 'string',
    description: 'Prepended to every topic and consumer-group name.',
  },
  {
    name: 'HERALD_CLUSTER_ADVERTISE_URL',
    target: 'cluster.advertiseUrl',
    kind: 'string',
    description:
      'Base URL at which the other nodes reach this one (`http://<pod-ip>:<port>`); HTTP session commands for sessions held here are forwarded to it.',
  },
  {
    name: 'HERALD_CONTROL_DRIVER',
    target: 'control.driver',
    kind: 'enum',
    description: '`pglite` (embedded, default), `postgres` or `config`.',
  },
  {
    name: 'HERALD_DATA_DIR',
    target: 'control.dataDir',
    kind: 'string',
    description: 'Directory of the embedded database.',
  },
  {
    name: 'HERALD_POSTGRES_URL',
    target: 'control.postgresUrl',
    kind: 'string',
    description: 'PostgreSQL connection URL (driver `postgres`).',
  },
  {
    name: 'HERALD_ADMIN_TOKEN',
    target: 'admin.token',
    kind: 'string',
    description: 'Bearer token of the admin API (at least 32 characters).',
  },
  {
    name: 'HERALD_MASTER_KEY',
    target: '(master key)',
    kind: 'string',
    description:
      'AES-256-GCM key (32 bytes, base64 or hex) encrypting server secrets and push credentials at rest. ' +
      'Read from the environment only (never from a file, never logged); required in production with ' +
      'a SQL driver; generated under `control.dataDir` in development.',
  },
  {
    name: 'HERALD_APP_ID',
    target: 'apps[].id',
    kind: 'string',
    description:
      'Configures one app from the environment. If the file has an app with this id, the variables below replace its keys, secrets and (when set) origins; otherwise a new app with default options is added.',
  },
  {
    name: 'HERALD_APP_KEY',
    target: 'apps[].keys',
    kind: 'string',
    description: 'Client key of the env app (required with HERALD_APP_ID).',
  },
  {
    name: 'HERALD_APP_SECRET',
    target: 'apps[].secrets[0]',
    kind: 'string',
    description: 'Server secret of the env app (required with HERALD_APP_ID).',
  },
  {
    name: 'HERALD_APP_SECRET_2',
    target: 'apps[].secrets[1]',
    kind: 'string',
    description: 'Second live secret of the env app, during rotation.',
  },
  {
    name: 'HERALD_APP_ORIGINS',
    target: 'apps[].allowedOrigins',
    kind: 'list',
    description: 'Comma-separated allowed origins of the env app.',
  },
];

/** Secrets published in Herald's docs and examples; refused in production. */
export const DOCUMENTED_EXAMPLE_SECRETS: readonly string[] = [
  'hrld_0123456789abcdefghijklmnopqrstuvwxyz',
  '0123456789abcdefghijklmnopqrstuvwxyzABCDEF',
  'abcdefghijklmnopqrstuvwxyz0123456789',
  'not-a-real-secret-replace-me-before-deploying',
];

const EXAMPLE_MARKERS = ['example', 'changeme', 'secret', 'xxxx'];
const MIN_DISTINCT_SECRET_CHARS = 10;
export const DEV_APP_ID = 'dev';

/** Why a production node refuses a secret, or undefined when it looks real. */
export function exampleSecretReason(secret: string): string | undefined {
  const lower = secret.toLowerCase();
  const marker = EXAMPLE_MARKERS.find((m) => lower.includes(m));
  if (marker) return `contains "${marker}"`;
  if (DOCUMENTED_EXAMPLE_SECRETS.includes(secret)) return 'is an example from the Herald docs';
  if (new Set(secret).size < MIN_DISTINCT_SECRET_CHARS)
    return `has fewer than ${MIN_DISTINCT_SECRET_CHARS} distinct characters`;
  return undefined;
}

export interface LoadConfigOptions {
  /** Command-line arguments after the script name (`--config <path>` or `--config=<path>`). */
  argv?: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Base for a relative config path (default: process.cwd()). */
  cwd?: string;
}

export interface LoadedConfig {
  config: NodeConfig;
  /** Present when the development app was generated, so the entry point can print its credentials. */
  devApp?: AppConfig;
}

type Raw = Record<string, unknown>;

export function loadNodeConfig(options: LoadConfigOptions): LoadedConfig {
  const { env } = options;
  const problems: string[] = [];
  const raw = readConfigFile(options);

  applyScalarOverrides(raw, env, problems);
  const envApp = applyEnvApp(raw, env, problems);
  if (problems.length) throw new ConfigError('Invalid configuration (environment):', problems);

  raw['appsSource'] = envApp ? 'env' : 'file';
  const parsed = nodeConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError('Invalid configuration:', formatIssues(parsed.error.issues));
  let config = parsed.data;

  let devApp: AppConfig | undefined;
  if (config.env === 'production') {
    assertProductionReady(config);
  } else if (config.apps.length === 0) {
    devApp = generateDevApp();
    config = { ...config, apps: [devApp], appsSource: 'dev' };
  }
  return devApp ? { config, devApp } : { config };
}

function readConfigFile({ argv = [], env, cwd }: LoadConfigOptions): Raw {
  const path = configPathFromArgv(argv) ?? env['HERALD_CONFIG'];
  if (path === undefined || path === '') return {};
  const full = resolve(cwd ?? process.cwd(), path);
  const ext = extname(full).toLowerCase();
  if (ext !== '.yaml' && ext !== '.yml' && ext !== '.json') {
    throw new ConfigError(`Config file ${full}: unsupported extension "${ext}" (use .yaml, .yml or .json)`);
  }
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (err) {
    throw new ConfigError(`Config file ${full} cannot be read: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = ext === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(
      `Config file ${full} is not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
    );
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`Config file ${full} must contain an object at the top level`);
  }
  return data as Raw;
}

function configPathFromArgv(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--config') {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new ConfigError('--config needs a path');
      return next;
    }
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return undefined;
}

function objectAt(raw: Raw, key: string): Raw {
  const value = raw[key];
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Raw;
  const created: Raw = {};
  raw[key] = created;
  return created;
}

function setPath(raw: Raw, path: string, value: unknown): void {
  const parts = path.split('.');
  let target = raw;
  for (const part of parts.slice(0, -1)) target = objectAt(target, part);
  target[parts[parts.length - 1]] = value;
}

function applyScalarOverrides(raw: Raw, env: LoadConfigOptions['env'], problems: string[]): void {
  for (const variable of ENV_VARIABLES) {
    if (variable.target.startsWith('(') || variable.target.startsWith('apps[]')) continue;
    const value = env[variable.name];
    if (value === undefined || value === '') continue;
    if (variable.kind === 'integer') {
      if (!/^\d+$/.test(value.trim())) {
        problems.push(`${variable.name} (${variable.target}): expected an integer, got "${value}"`);
        continue;
      }
      setPath(raw, variable.target, Number(value.trim()));
    } else if (variable.kind === 'list') {
      setPath(raw, variable.target, splitList(value));
    } else {
      setPath(raw, variable.target, value.trim());
    }
  }
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Returns whether an env app was configured. */
function applyEnvApp(raw: Raw, env: LoadConfigOptions['env'], problems: string[]): boolean {
  const get = (name: string) => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const id = get('HERALD_APP_ID');
  const key = get('HERALD_APP_KEY');
  const secret = get('HERALD_APP_SECRET');
  const secret2 = get('HERALD_APP_SECRET_2');
  const origins = get('HERALD_APP_ORIGINS');
  if (id === undefined) {
    const stray = ['HERALD_APP_KEY', 'HERALD_APP_SECRET', 'HERALD_APP_SECRET_2', 'HERALD_APP_ORIGINS'].filter(
      (n) => get(n) !== undefined,
    );
    if (stray.length) problems.push(`${stray.join(', ')} set without HERALD_APP_ID`);
    return false;
  }
  if (key === undefined) problems.push('HERALD_APP_KEY is required with HERALD_APP_ID');
  if (secret === undefined) problems.push('HERALD_APP_SECRET is required with HERALD_APP_ID');
  if (key === undefined || secret === undefined) return false;

  const fields: Partial<AppConfigInput> = {
    keys: [key],
    secrets: secret2 === undefined ? [secret] : [secret, secret2],
  };
  if (origins !== undefined) fields.allowedOrigins = splitList(origins);

  const apps = Array.isArray(raw['apps']) ? (raw['apps'] as unknown[]) : [];
  const index = apps.findIndex((a) => a !== null && typeof a === 'object' && (a as Raw)['id'] === id);
  if (index >= 0) apps[index] = { ...(apps[index] as Raw), ...fields };
  else apps.push({ id, ...fields });
  raw['apps'] = apps;
  return true;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && /^[A-Za-z_$][\w$]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out || '(root)';
}

/** `apps[0].limits.maxFrameBytes: Too small: expected number to be >0` */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
}

function assertProductionReady(config: NodeConfig): void {
  // With a SQL control store, apps may live in the database, created through the admin API.
  const managedInStore = config.control.driver !== 'config' && config.admin.token !== undefined;
  if (config.apps.length === 0 && !managedInStore) {
    throw new ConfigError('Refusing to start in production without apps. Configure at least one app:', [
      'in the config file (apps: [...]) named by --config or HERALD_CONFIG, or',
      'with HERALD_APP_ID, HERALD_APP_KEY and HERALD_APP_SECRET, or',
      'create apps through the admin API: control.driver pglite or postgres, with HERALD_ADMIN_TOKEN set.',
      'The generated development app is only created when HERALD_ENV=development.',
    ]);
  }
  const problems: string[] = [];
  if (config.admin.token !== undefined) {
    const reason = exampleSecretReason(config.admin.token);
    if (reason) problems.push(`admin.token ${reason}`);
  }
  config.apps.forEach((app, i) =>
    app.secrets.forEach((secret, j) => {
      const reason = exampleSecretReason(secret);
      // Never echo the secret itself: it may be real and end up in a log collector.
      if (reason) problems.push(`apps[${i}].secrets[${j}] (app "${app.id}") ${reason}`);
    }),
  );
  if (problems.length) {
    throw new ConfigError(
      'Refusing to start in production with example or weak secrets. Generate real ones, e.g. ' +
        "`node -e \"console.log(require('crypto').randomBytes(36).toString('base64url'))\"`:",
      problems,
    );
  }
}

/** The `dev` app generated in development when no app is configured; its credentials are random. */
export function generateDevApp(): AppConfig {
  const rich = { historySize: 100, presence: true, joinLeave: true, allowPublish: true };
  const parsed = nodeConfigSchema.parse({
    apps: [
      {
        id: DEV_APP_ID,
        name: 'Development app (generated)',
        keys: [`dev_${randomBytes(12).toString('base64url')}`],
        secrets: [randomBytes(36).toString('base64url')],
        allowedOrigins: ['*'],
        namespaces: { default: rich, chat: rich },
      },
    ],
  });
  return parsed.apps[0];
}
