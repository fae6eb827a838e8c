/**
 * Structured JSON logging on pino. One line per event, `level` as a label, ISO time, and the tenant
 * as `app` on every line about an app (`logger.child({ app: app.id })`), so an operator can filter
 * one tenant's story out of a shared node. Implements Nest's LoggerService so `app.useLogger()`
 * routes the framework's own lines through the same pipe.
 */
import { Injectable, type LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { NodeConfig } from '@herald/config';

export type LogLevel = NodeConfig['log']['level'];

/** Field names whose values never reach a log line, at the top level and two levels down. */
export const REDACTED_FIELDS = [
  'secret',
  'secrets',
  'token',
  'tokens',
  'ticket',
  'authorization',
  'Authorization',
  'cookie',
  'password',
  'pem',
  'privateKey',
  'apiKey',
  // Control plane: push credentials, webhook signing secrets, the master key, database URLs.
  'private_key',
  'key_p8',
  'keyP8',
  'signing_secret',
  'signingSecret',
  'masterKey',
  'postgresUrl',
] as const;

export const REDACT_CENSOR = '[redacted]';

const REDACT_PATHS = REDACTED_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

export interface HeraldLoggerOptions {
  level: LogLevel;
  /** Where lines go (default stdout); tests pass a stream to capture them. */
  destination?: DestinationStream;
  /** Fields on every line, e.g. `{ node: config.nodeId }`. */
  base?: Record<string, unknown>;
}

/** Bindings of a child logger. `app` is the tenant id; other keys are free (role, conn, channel...). */
export interface LogBindings {
  app?: string;
  [key: string]: unknown;
}

type Method = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** Nest framework contexts whose info-level start-up lines are logged at debug. */
const NEST_STARTUP_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'WebSocketsController',
  'NestApplication',
]);

@Injectable()
export class HeraldLogger implements LoggerService {
  constructor(readonly pino: Logger) {}

  static create(options: HeraldLoggerOptions): HeraldLogger {
    const logger = pino(
      {
        level: options.level,
        base: options.base ?? {},
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        redact: { paths: REDACT_PATHS, censor: REDACT_CENSOR },
        serializers: { err: pino.stdSerializers.err },
      },
      options.destination,
    );
    return new HeraldLogger(logger);
  }

  child(bindings: LogBindings): HeraldLogger {
    return new HeraldLogger(this.pino.child(bindings));
  }

  isLevelEnabled(level: Method): boolean {
    return this.pino.isLevelEnabled(level);
  }

  log(message: unknown, ...optionalParams: unknown[]): void {
    // Nest's own start-up chatter (one line per module and route) is debug detail, not operations news.
    const context = optionalParams[optionalParams.length - 1];
    const level = typeof context === 'string' && NEST_STARTUP_CONTEXTS.has(context) ? 'debug' : 'info';
    this.write(level, message, optionalParams);
  }

  error(message: unknown, ...optionalParams: unknown[]): void {
    this.write('error', message, optionalParams);
  }

  warn(message: unknown, ...optionalParams: unknown[]): void {
    this.write('warn', message, optionalParams);
  }

  debug(message: unknown, ...optionalParams: unknown[]): void {
    this.write('debug', message, optionalParams);
  }

  verbose(message: unknown, ...optionalParams: unknown[]): void {
    this.write('trace', message, optionalParams);
  }

  fatal(message: unknown, ...optionalParams: unknown[]): void {
    this.write('fatal', message, optionalParams);
  }

  /**
   * Accepts both Herald's style, `log({ msg, ...fields })`, and Nest's, `log(message, context)` /
   * `error(message, stack, context)`: the trailing string is the context, a stack-like string is the
   * stack, and objects are merged into the line's fields.
   */
  private write(method: Method, message: unknown, params: unknown[]): void {
    if (!this.pino.isLevelEnabled(method)) return;
    const fields: Record<string, unknown> = {};
    let msg: string | undefined;
    if (message instanceof Error) {
      fields['err'] = message;
      msg = message.message;
    } else if (message !== null && typeof message === 'object') {
      const { msg: m, ...rest } = message as Record<string, unknown>;
      Object.assign(fields, rest);
      if (m !== undefined) msg = String(m);
    } else if (message !== undefined) {
      msg = String(message);
    }
    const rest = [...params];
    if (rest.length > 0 && typeof rest[rest.length - 1] === 'string') fields['context'] = rest.pop();
    for (const param of rest) {
      if (typeof param === 'string') {
        if (/\n\s+at /.test(param)) fields['stack'] = param;
        else if (param) fields['detail'] = param;
      } else if (param instanceof Error) {
        fields['err'] = param;
      } else if (param !== null && typeof param === 'object') {
        Object.assign(fields, param);
      } else if (param !== undefined) {
        fields['detail'] = param;
      }
    }
    if (msg === undefined) this.pino[method](fields);
    else this.pino[method](fields, msg);
  }
}
