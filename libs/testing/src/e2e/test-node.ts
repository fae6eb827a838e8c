/**
 * End-to-end harness: a real Herald standalone node, started in this process on a free port (0),
 * with two test apps (`alpha`, `beta`) whose channel names, user ids and keys deliberately look
 * alike, so tenancy leaks would show. Tests talk to it only through the wire: WebSocket
 * (TestClient, RawWebSocket) and REST (RestClient). The one exception is `serverCloses`, which
 * records why the server closed each session, for the cases the wire cannot carry (a slow
 * consumer is terminated without a close frame).
 *
 * Why it exists: every e2e spec needs the same node, apps, tokens and clients; writing them per
 * spec would drift. Why in-process: one jest worker boots a node in ~100 ms, with no fixed ports
 * and nothing to kill.
 *
 * Extending it: a new namespace goes into TEST_NAMESPACES (and its purpose in the comment there);
 * a limit or node setting a test needs goes through `TestNodeOptions` (never by editing the
 * defaults another spec relies on); a new client capability goes into TestClient with an
 * event-driven wait (no sleeps, no retries: STYLE.md habit 11).
 *
 * Heavy imports (Nest, the standalone module) are dynamic, so unit tests that import
 * `@herald/testing` for its contract suites do not load the whole server.
 */
import { randomBytes } from 'node:crypto';
import type { AppConfig, AppConfigInput, AppLimits, NodeConfig, NodeConfigInput } from '@herald/config';
import type { DisconnectDef } from '@herald/protocol';
import { RestClient } from './rest-client.js';
import { bootStandalone } from './standalone.js';
import { DEFAULT_WAIT_MS, TestClient, withTimeout, type OpenOptions } from './test-client.js';
import { signHs256, type TokenClaims } from './tokens.js';

/**
 * Namespaces of every test app:
 * - default (""): history of 10, recovery on; small so "history exceeded" is cheap to reach.
 * - `stream`: history of 1000, for ordering under concurrent publishers.
 * - `chat`: presence with join/leave pushes, clients may publish; history of 10.
 * - `nohist`: no history (at-most-once), no presence, clients may publish.
 * - `priv`: private (subscription token required), history of 10.
 */
export const TEST_NAMESPACES = {
  default: { historySize: 10 },
  stream: { historySize: 1000 },
  chat: { historySize: 10, presence: true, joinLeave: true, allowPublish: true },
  nohist: { allowPublish: true },
  priv: { private: true, historySize: 10 },
} as const;

export type TestAppId = 'alpha' | 'beta';

export interface TestApp {
  id: TestAppId;
  /** The public client key (connection URL). */
  key: string;
  /** The first server secret (REST Bearer, HS256 tokens). */
  secret: string;
  config: AppConfig;
  /** An HS256 connection token for `user` (aud = app id, exp in an hour unless overridden). */
  token(user: string, claims?: Omit<TokenClaims, 'sub'>): string;
  /** An HS256 subscription token for a private channel. */
  subToken(user: string, channel: string, claims?: Omit<TokenClaims, 'sub' | 'channel'>): string;
}

export interface TestNodeOptions {
  /** Limits for every test app, over the schema defaults. */
  limits?: Partial<AppLimits>;
  /** Extra fields per app (publicKeys, allowedOrigins, personalChannel, ...). */
  apps?: Partial<Record<TestAppId, Partial<AppConfigInput>>>;
  /** Node settings over the test defaults (ws timeouts, newConnectionsPerSecond, shutdown, ...). */
  node?: Omit<NodeConfigInput, 'apps' | 'http'>;
  /** Serve HTTPS (HTTP/2 with HTTP/1.1 fallback) with these PEM files; `url` is then https. */
  tls?: { certFile: string; keyFile: string };
}

export interface ServerClose {
  app: string;
  user: string;
  client: string;
  /** The disconnect code the server chose; undefined when the client closed first. */
  code: number | undefined;
}

export interface TestNode {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  config: NodeConfig;
  apps: Record<TestAppId, TestApp>;
  /** WebSocket URL for a client key (defaults to the app's key). */
  wsUrl(app: TestApp | string): string;
  /** Opens a WebSocket without sending connect. */
  open(app: TestApp | string, options?: OpenOptions): Promise<TestClient>;
  /** Opens a WebSocket and connects as `user` with a fresh token; rejects if connect fails. */
  connect(app: TestApp, user: string, claims?: Omit<TokenClaims, 'sub'>): Promise<TestClient>;
  rest(app: TestApp): RestClient;
  /** Why the server closed each session (recorded in-process). */
  serverCloses: EventLog<ServerClose>;
  /** Closes every client the harness opened, then drains and stops the node. */
  close(): Promise<void>;
  /** Drains and stops the node with clients still connected, as a SIGTERM would. */
  shutdown(): Promise<void>;
  /**
   * A provider of the running node (e.g. the Hub or the SessionSupervisor), for tests that make
   * the server do what it only does on operational events (a drain, a control-bus disconnect).
   */
  get<T>(token: abstract new (...args: never[]) => T): T;
}

/** An append-only list of events with event-driven waits (no polling). */
export class EventLog<T> {
  readonly entries: T[] = [];
  private readonly waiters = new Set<{ match: (e: T) => boolean; resolve: (e: T) => void }>();

  push(entry: T): void {
    this.entries.push(entry);
    for (const w of [...this.waiters]) {
      if (w.match(entry)) {
        this.waiters.delete(w);
        w.resolve(entry);
      }
    }
  }

  /** The first entry (past or future) that matches, within `timeoutMs`. */
  wait(match: (e: T) => boolean, { timeoutMs = DEFAULT_WAIT_MS }: { timeoutMs?: number } = {}): Promise<T> {
    const found = this.entries.find(match);
    if (found !== undefined) return Promise.resolve(found);
    let waiter: { match: (e: T) => boolean; resolve: (e: T) => void } | undefined;
    const p = new Promise<T>((resolve) => {
      waiter = { match, resolve };
      this.waiters.add(waiter);
    });
    return withTimeout(p, timeoutMs, `no matching event`).finally(() => {
      if (waiter) this.waiters.delete(waiter);
    });
  }
}

function secret(): string {
  return randomBytes(36).toString('base64url');
}

/** The config input of a test node; exported so specs that spawn processes can reuse it. */
export function testConfigInput(options: TestNodeOptions = {}): NodeConfigInput {
  const app = (id: TestAppId): AppConfigInput => ({
    id,
    keys: [`${id}_key_${randomBytes(6).toString('hex')}`],
    secrets: [secret()],
    namespaces: { ...TEST_NAMESPACES },
    limits: { ...options.limits },
    ...options.apps?.[id],
  });
  return {
    env: 'development',
    http: { host: '127.0.0.1', port: 0, ...(options.tls ? { tls: options.tls } : {}) },
    log: { level: 'silent' },
    // One session at most waits 1 s on shutdown; tests close their clients before the node.
    shutdown: { drainSeconds: 1 },
    // The apps above, read-only in memory: no database per test node (control-plane suites pick a driver).
    control: { driver: 'config' },
    ...options.node,
    apps: [app('alpha'), app('beta')],
  };
}

export async function startTestNode(options: TestNodeOptions = {}): Promise<TestNode> {
  const running = await bootStandalone(testConfigInput(options));
  const { ClientService } = await import('@herald/core');

  const serverCloses = new EventLog<ServerClose>();
  const clientService = running.app.get(ClientService);
  const onClosed = clientService.onClosed.bind(clientService);
  // Recorded once the server has finished with the session (hub, presence), so a test that waits
  // for the entry sees the node's state after the close.
  clientService.onClosed = (session, def: DisconnectDef | undefined) =>
    onClosed(session, def).finally(() =>
      serverCloses.push({ app: session.app.id, user: session.user, client: session.id, code: def?.code }),
    );

  const wsBase = running.url.replace(/^http/, 'ws');
  const opened = new Set<TestClient>();
  let stopping: Promise<void> | undefined;
  const apps = {} as Record<TestAppId, TestApp>;
  for (const appConfig of running.config.apps) {
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

  const node: TestNode = {
    url: running.url,
    port: running.port,
    config: running.config,
    apps,
    serverCloses,
    wsUrl: (app) =>
      `${wsBase}/connection/websocket?key=${encodeURIComponent(typeof app === 'string' ? app : app.key)}`,
    async open(app, openOptions) {
      const client = await TestClient.open(node.wsUrl(app), openOptions);
      opened.add(client);
      void client.closed.then(() => opened.delete(client));
      return client;
    },
    async connect(app, user, claims) {
      const client = await node.open(app);
      await client.request({ cmd: 'connect', token: app.token(user, claims) });
      return client;
    },
    rest: (app) => new RestClient(running.url, app.id, app.secret),
    async close() {
      await Promise.all([...opened].map((c) => c.close()));
      await node.shutdown();
    },
    shutdown() {
      stopping ??= withTimeout(running.close(), 15_000, 'node did not close');
      return stopping;
    },
    get: (token) => running.app.get(token),
  };
  return node;
}
