import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { DynamicModule } from '@nestjs/common';
import { ConfigError, loadNodeConfig, type AppConfig, type NodeConfig } from '@herald/config';
import { HeraldLogger } from '@herald/observability';
import { SessionSupervisor } from '@herald/core';
import { HeraldWsAdapter, SessionRouter } from '@herald/realtime';
import { configureHttp } from '@herald/rest';
import { signConnectionToken } from '@herald/auth';
import { HeraldExpressAdapter } from './http2.js';

export interface RunningNode {
  app: NestExpressApplication;
  config: NodeConfig;
  port: number;
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  role: string;
  /** Builds the app's root module from validated config. */
  module: (config: NodeConfig) => DynamicModule;
  /** Whether this role serves WebSocket connections. */
  websocket: boolean;
  config?: NodeConfig;
  /** Print the development app banner (entry points only). */
  banner?: boolean;
  /** Install SIGTERM/SIGINT handling (entry points only; tests close explicitly). */
  signals?: boolean;
}

/** Starts one Herald process: Nest wires the modules; HTTP and WebSocket share one port. */
export async function startNode(options: StartOptions): Promise<RunningNode> {
  let devApp: AppConfig | undefined;
  let config = options.config;
  if (!config) {
    const loaded = loadNodeConfig({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd() });
    config = loaded.config;
    devApp = loaded.devApp;
  }
  const { certFile, keyFile } = config.http.tls;
  // With TLS: HTTP/2 and HTTP/1.1 on one port (see HeraldExpressAdapter); without: plain HTTP/1.1.
  const tls = certFile && keyFile ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : undefined;
  const app = await NestFactory.create<NestExpressApplication>(
    options.module(config),
    new HeraldExpressAdapter(tls),
    { bufferLogs: true },
  );
  const logger = app.get(HeraldLogger);
  app.useLogger(logger);
  if (options.websocket) app.useWebSocketAdapter(new HeraldWsAdapter(app, config));
  configureHttp(app, config);
  if (options.signals) installSignals(app, logger);
  await app.listen(config.http.port, config.http.host);
  const port = (app.getHttpServer().address() as AddressInfo).port;
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  // Nodes that hold client sessions tell the others where to forward HTTP session commands.
  if (options.websocket) {
    const router = app.get(SessionRouter);
    await router.start(router.advertisedUrl(port, tls !== undefined));
  }
  logger.log({ msg: 'listening', role: options.role, port, node: config.nodeId, apps: config.apps.length });
  if (devApp && options.banner) printDevBanner(devApp, url);
  return { app, config, port, url, close: () => drainAndClose(app) };
}

/**
 * Drains before Nest's close: Nest stops its listeners and the bus consumers (onModuleDestroy,
 * dispose) before any onApplicationShutdown hook runs, and would wait forever for open WebSocket
 * connections. So sessions are closed first, spread over the drain window, while /readyz answers
 * 503 and the remaining sessions keep receiving publications; then Nest shuts the rest down.
 */
async function drainAndClose(app: NestExpressApplication): Promise<void> {
  await app.get(SessionSupervisor).drain();
  await app.close();
}

function installSignals(app: NestExpressApplication, logger: HeraldLogger): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log({ msg: 'shutting down', signal });
    drainAndClose(app).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ msg: 'shutdown failed', err: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** What a newcomer needs after `npm start`: the key, the secret, a token and a working curl. */
function printDevBanner(app: AppConfig, url: string): void {
  const token = signConnectionToken(app, { sub: 'demo-user' }, { expiresInSeconds: 24 * 3600 });
  const wsUrl = url.replace('http', 'ws');
  const lines = [
    '',
    'Herald is running with a generated development app (not for production).',
    `  app id:      ${app.id}`,
    `  client key:  ${app.keys[0]}`,
    `  secret:      ${app.secrets[0]}`,
    `  token (user demo-user, 24 h): ${token}`,
    '',
    'Subscribe (any WebSocket client, e.g. `npx wscat -c`):',
    `  ${wsUrl}/connection/websocket?key=${app.keys[0]}`,
    `  > {"id":1,"cmd":"connect","token":"${token}"}`,
    '  > {"id":2,"cmd":"subscribe","channel":"chat:lobby"}',
    '',
    'Or over Server-Sent Events (commands: POST /connection/session/{client}, see docs/protocol.md):',
    `  curl -N '${url}/connection/sse?key=${app.keys[0]}&channels=chat:lobby' -H 'Authorization: Bearer ${token}'`,
    '',
    'Publish:',
    `  curl -s -X POST ${url}/v1/apps/${app.id}/publish -H 'Authorization: Bearer ${app.secrets[0]}' -H 'Content-Type: application/json' -d '{"channel":"chat:lobby","data":{"text":"hello"}}'`,
    '',
    `Demo (chat and dashboard): ${url}/    API docs: ${url}/docs    Protocol: docs/protocol.md`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/** Entry point helper: a config error is printed plainly and exits 1 (no stack trace). */
export function runMain(options: StartOptions): void {
  startNode({ ...options, banner: true, signals: true }).catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`herald: invalid configuration\n${err.message}\n`);
    } else {
      process.stderr.write(
        `herald: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
    }
    process.exit(1);
  });
}
