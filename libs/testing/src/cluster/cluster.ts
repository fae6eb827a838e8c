/**
 * Cluster harness: Herald as it runs in production, as separate OS processes built from dist/ (one
 * api and N gateways), linked by a real Kafka and a real Redis. Each run gets its own Kafka topic
 * prefix and Redis key prefix, so suites can share one broker and one Redis; the apps are the e2e
 * harness's `alpha` and `beta` (same namespaces, see TEST_NAMESPACES), served from a config file
 * (`control.driver: config`), so no database is needed.
 *
 * Why it exists: the in-process TestNode proves single-node behaviour; what breaks in a cluster
 * (ordering across gateways, a gateway killed with -9, a session whose HTTP command lands on
 * another node, an api that dies between accepting a publish and answering) only shows with real
 * processes, real sockets and real signals. Processes are started and stopped by pid only.
 *
 * Readiness is an event, not a sleep: a node is ready when it logs `listening` (Nest has finished
 * module init by then, so a gateway's bus consumers are subscribed), and the port is read from that
 * line (every node listens on port 0).
 *
 * Control plane: with `ClusterOptions.postgres` the tenants live in a fresh PostgreSQL database of
 * the run (dropped by `stop`), written through the admin API (`cluster.admin`, with the run's admin
 * token; every process shares the run's master key).
 *
 * Extending it: a setting a suite needs goes into `ClusterOptions.node` (a NodeConfigInput
 * fragment written into the shared config file) or, for one process only, `StartNodeOptions.node`
 * (a config file of its own, from `cluster.config(...)`) and `StartNodeOptions.env`; a new role is
 * a new entry in MAINS. Never change a default another suite relies on.
 * Requires `npm run build` first (`npm test` builds).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeConfigInput } from '@herald/config';
import { RestClient } from '../e2e/rest-client.js';
import { adminOk } from '../webhooks/receiver.js';
import { TestClient } from '../e2e/test-client.js';
import { testConfigInput, type TestApp, type TestAppId, type TestNodeOptions } from '../e2e/test-node.js';
import { signHs256, type TokenClaims } from '../e2e/tokens.js';
import { ManagedProcess } from './process.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export type ClusterRole = 'api' | 'gateway' | 'push-dispatcher' | 'webhook-dispatcher';

const MAINS: Record<ClusterRole, string> = {
  api: 'dist/apps/api/src/main.js',
  gateway: 'dist/apps/gateway/src/main.js',
  'push-dispatcher': 'dist/apps/push-dispatcher/src/main.js',
  'webhook-dispatcher': 'dist/apps/webhook-dispatcher/src/main.js',
};

/** Node settings as suites write them (every section but the apps and the HTTP listener). */
export type ClusterNodeSettings = NonNullable<TestNodeOptions['node']>;

/** How long a node may take from spawn to `listening` (Kafka group joins included). */
const START_TIMEOUT_MS = 30_000;

export interface ClusterOptions {
  /** Kafka bootstrap brokers (`host:port`, comma-separated). */
  kafka: string;
  /** `redis://host:port` */
  redis: string;
  /** Gateways to start (default 2). */
  gateways?: number;
  /** Node settings over the test defaults, for every process (presence TTL, poll hold, ...). */
  node?: TestNodeOptions['node'];
  limits?: TestNodeOptions['limits'];
  /** Extra environment of the api process (e.g. a test-only hook). */
  apiEnv?: Record<string, string>;
  /** Extra environment of every process. */
  env?: Record<string, string>;
  /**
   * A PostgreSQL server (`postgres://...`): the control plane moves into a fresh database on it
   * (`control.driver: postgres`; `node.control` adds to it, e.g. a cache TTL), with an admin token
   * and a master key of the run. `stop` drops the database.
   */
  postgres?: string;
}

export interface StartNodeOptions {
  /** Extra environment variables of this process only. */
  env?: Record<string, string>;
  /** Settings of this process only, over the cluster's (`cluster.config(node)`), in a file of its own. */
  node?: ClusterNodeSettings;
}

export interface ClusterNode {
  role: ClusterRole;
  /** HERALD_NODE_ID of the process. */
  nodeId: string;
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  process: ManagedProcess;
  /** SIGTERM drains (sessions closed with 3001); SIGKILL is a crash. Resolves at exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** An app created through the admin API during the run: what a client needs to connect. */
export interface ClusterTenant {
  id: string;
  key: string;
  secret: string;
}

export interface Cluster {
  /** Unique per run; also the Kafka topic prefix and (with `:`) the Redis key prefix. */
  prefix: string;
  apps: Record<TestAppId, TestApp>;
  api: ClusterNode;
  gateways: ClusterNode[];
  /** Every node started so far, dead or alive. */
  nodes: ClusterNode[];
  /**
   * Starts one more process of a role (a replacement api, a new gateway, a dispatcher) with the
   * cluster's config, or with `options.node` over it.
   */
  startNode(role: ClusterRole, options?: StartNodeOptions): Promise<ClusterNode>;
  /**
   * The config every process of this cluster runs with (all roles read the same file, as the
   * chart's pods read one ConfigMap): Kafka and Redis with the run's prefixes, the control plane,
   * `ClusterOptions.node`; `overrides` replace whole sections over it.
   */
  config(overrides?: ClusterNodeSettings): NodeConfigInput;
  /** The run's admin token (with `ClusterOptions.postgres`; undefined otherwise). */
  adminToken: string | undefined;
  /** An admin API call through the current api with the run's admin token; throws on a non-2xx answer. */
  admin<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** The REST client of an app against a node (default: the current api). */
  rest(app: TestApp, node?: ClusterNode): RestClient;
  wsUrl(node: ClusterNode, app: TestApp | ClusterTenant): string;
  /** Opens a WebSocket to `node` and connects as `user` (an HS256 token signed with the app's secret). */
  connect(
    node: ClusterNode,
    app: TestApp | ClusterTenant,
    user: string,
    claims?: Omit<TokenClaims, 'sub'>,
  ): Promise<TestClient>;
  /** Closes every client the harness opened, then stops every process still running. */
  stop(): Promise<void>;
}

const started = Date.now();

/** A progress line on stderr (the cluster suites are long; CI logs show where time goes). */
export function progress(message: string): void {
  process.stderr.write(`[cluster +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  if (!existsSync(join(ROOT, MAINS.api)) || !existsSync(join(ROOT, MAINS.gateway))) {
    throw new Error('dist/ is missing: run `npm run build` before the cluster suites');
  }
  const prefix = `hc${randomBytes(5).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'herald-cluster-'));
  const configFile = join(dir, 'herald.json');
  let database: { url: string; drop(): Promise<void> } | undefined;
  const adminToken = options.postgres ? `adm_${randomBytes(24).toString('base64url')}` : undefined;
  const sharedEnv: Record<string, string> = { ...options.env };
  if (options.postgres) {
    const { createPostgresDatabase } = await import('@herald/control/testing');
    database = await createPostgresDatabase(options.postgres);
    sharedEnv['HERALD_MASTER_KEY'] ??= randomBytes(32).toString('base64');
  }
  const input = testConfigInput({ node: options.node, limits: options.limits });
  const config: NodeConfigInput = {
    ...input,
    // `listening` is logged at info; the harness reads the port from it.
    log: { level: 'info' },
    drivers: { bus: 'kafka', presence: 'redis', history: 'redis', state: 'redis' },
    kafka: {
      brokers: options.kafka.split(','),
      topicPrefix: `${prefix}.`,
      partitions: 4,
      replicationFactor: 1,
    },
    redis: { url: options.redis, keyPrefix: `${prefix}:` },
    ...options.node,
    ...(database && adminToken
      ? {
          control: { driver: 'postgres', postgresUrl: database.url, ...options.node?.control },
          admin: { token: adminToken, ...options.node?.admin },
        }
      : {}),
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const configOf = (overrides: ClusterNodeSettings = {}): NodeConfigInput => ({ ...config, ...overrides });

  const { nodeConfigSchema } = await import('@herald/config');
  const parsed = nodeConfigSchema.parse(config);
  const apps = {} as Record<TestAppId, TestApp>;
  for (const appConfig of parsed.apps) {
    const id = appConfig.id as TestAppId;
    apps[id] = {
      id,
      key: appConfig.keys[0],
      secret: appConfig.secrets[0],
      config: appConfig,
      token: (user, claims = {}) => signHs256(appConfig.secrets[0], { aud: id, ...claims, sub: user }),
      subToken: (user, channel, claims = {}) =>
        signHs256(appConfig.secrets[0], { aud: id, ...claims, sub: user, channel }),
    };
  }

  const nodes: ClusterNode[] = [];
  const clients = new Set<TestClient>();
  let counter = 0;

  const startNode = async (role: ClusterRole, opts: StartNodeOptions = {}): Promise<ClusterNode> => {
    const nodeId = `${prefix}-${role}-${++counter}`;
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HERALD_')) env[k] = v;
    delete env['NODE_OPTIONS'];
    env['NODE_NO_WARNINGS'] = '1';
    env['HERALD_CONFIG'] = configFile;
    if (opts.node) {
      env['HERALD_CONFIG'] = join(dir, `${nodeId}.json`);
      writeFileSync(env['HERALD_CONFIG'], JSON.stringify(configOf(opts.node), null, 2));
    }
    env['HERALD_NODE_ID'] = nodeId;
    Object.assign(env, sharedEnv, role === 'api' ? options.apiEnv : undefined, opts.env);
    const proc = new ManagedProcess(nodeId, process.execPath, [MAINS[role]], env, ROOT);
    let port: number;
    try {
      const line = await proc.waitForLine(
        (l) => l.includes('"msg":"listening"'),
        START_TIMEOUT_MS,
        'listening',
      );
      port = (JSON.parse(line) as { port: number }).port;
    } catch (err) {
      if (proc.running) await proc.kill('SIGKILL');
      throw err;
    }
    const node: ClusterNode = {
      role,
      nodeId,
      url: `http://127.0.0.1:${port}`,
      port,
      process: proc,
      kill: async (signal = 'SIGTERM') => {
        await proc.kill(signal);
      },
    };
    nodes.push(node);
    progress(`${nodeId} listening on ${port} (pid ${proc.pid})`);
    return node;
  };

  const stop = async (): Promise<void> => {
    await Promise.all([...clients].map((c) => c.close().catch(() => undefined)));
    await Promise.all(
      nodes
        .filter((n) => n.process.running)
        .map(async (n) => {
          // SIGTERM drains (drainSeconds is 1 in the test config); SIGKILL if it hangs anyway.
          const exited = await n.process.kill('SIGTERM', 10_000).then(
            () => true,
            () => false,
          );
          if (!exited) await n.process.kill('SIGKILL');
        }),
    );
    rmSync(dir, { recursive: true, force: true });
    await database?.drop();
  };

  try {
    // Settle every start before deciding: a node still starting when another failed would otherwise
    // be left running by the stop below (it joins `nodes` after stop has read it).
    const started = await Promise.allSettled([
      startNode('api'),
      ...Array.from({ length: options.gateways ?? 2 }, () => startNode('gateway')),
    ]);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [api, ...gateways] = started.map((r) => (r as PromiseFulfilledResult<ClusterNode>).value);
    const cluster: Cluster = {
      prefix,
      apps,
      api,
      gateways,
      nodes,
      startNode,
      config: configOf,
      adminToken,
      admin: <T>(method: string, path: string, body?: unknown) => {
        if (adminToken === undefined)
          return Promise.reject(new Error('cluster.admin needs ClusterOptions.postgres'));
        return adminOk<T>(cluster.api.url, adminToken, method, path, body);
      },
      rest: (app, node) => new RestClient((node ?? cluster.api).url, app.id, app.secret),
      wsUrl: (node, app) =>
        `${node.url.replace(/^http/, 'ws')}/connection/websocket?key=${encodeURIComponent(app.key)}`,
      connect: async (node, app, user, claims = {}) => {
        const client = await TestClient.open(cluster.wsUrl(node, app));
        clients.add(client);
        const token = signHs256(app.secret, { aud: app.id, ...claims, sub: user });
        await client.request({ cmd: 'connect', token });
        return client;
      },
      stop,
    };
    return cluster;
  } catch (err) {
    await stop();
    throw err;
  }
}
