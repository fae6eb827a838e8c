/**
 * In-test fakes of the services the REST layer calls, for libs/rest specs only (not exported).
 *
 * Why they exist: the REST layer's job is validation, auth, the error shape and mapping to service
 * calls, so its specs check the calls it makes and render canned answers, without the hub, bus and
 * stores behind the real services (whose behaviour their own specs and the e2e suite cover).
 * How to extend: add the method with the real service's signature (the `implements Pick<...>`
 * clauses keep them in step), record the call in `calls`, and answer from a field a test can set;
 * `failNext` makes the next call throw instead.
 */
import { nodeConfigSchema, type AppConfig, type NodeConfig, type NodeConfigInput } from '@herald/config';
import type { ControlStore } from '@herald/control';
import type { PublishService, ServerApiService } from '@herald/core';
import type { TicketService } from '@herald/auth';
import type { BroadcastResult, PublishRequest, PublishOptions } from '@herald/core';
import type { ClientInfo, Publication, PublishResult, StreamPosition } from '@herald/protocol';

export const SECRET_A = 'a'.repeat(32) + '-first-secret';
export const SECRET_B = 'b'.repeat(32) + '-rotated-secret';
export const OTHER_SECRET = 'o'.repeat(32) + '-other-app-secret';

export function testConfig(overrides: Partial<NodeConfigInput> = {}): NodeConfig {
  return nodeConfigSchema.parse({
    nodeId: 'node-test-1',
    apps: [
      {
        id: 'acme',
        keys: ['acme-client-key'],
        secrets: [SECRET_A, SECRET_B],
        namespaces: {
          default: { historySize: 10, presence: true },
          chat: { historySize: 10, presence: true },
        },
        limits: { maxBodyBytes: 2048 },
      },
      { id: 'other', keys: ['other-client-key'], secrets: [OTHER_SECRET] },
      { id: 'off', enabled: false, keys: ['off-client-key'], secrets: [SECRET_A] },
    ],
    ...overrides,
  });
}

export interface Call {
  method: string;
  app: string;
  args: unknown[];
}

/** Shared by the fakes so a test can assert the order of calls across services. */
export class CallLog {
  readonly calls: Call[] = [];
  failNext: Error | undefined;

  record(method: string, app: AppConfig | string, ...args: unknown[]): void {
    this.calls.push({ method, app: typeof app === 'string' ? app : app.id, args });
    const err = this.failNext;
    if (err) {
      this.failNext = undefined;
      throw err;
    }
  }
}

export class FakeControlStore implements ControlStore {
  failing = false;
  constructor(private readonly apps: AppConfig[]) {}
  async getApp(appId: string): Promise<AppConfig | undefined> {
    if (this.failing) throw new Error('connection refused');
    return this.apps.find((a) => a.id === appId);
  }
  async getAppByKey(key: string): Promise<AppConfig | undefined> {
    return this.apps.find((a) => a.keys.includes(key));
  }
  async listApps(): Promise<AppConfig[]> {
    return this.apps;
  }
}

export class FakePublishService implements Pick<PublishService, 'publish' | 'broadcast'> {
  result: PublishResult = { offset: 7, epoch: 'ep1' };
  constructor(private readonly log: CallLog) {}

  async publish(app: AppConfig, req: PublishRequest, opts?: PublishOptions): Promise<PublishResult> {
    this.log.record('publish', app, req, opts);
    return this.result;
  }

  async broadcast(
    app: AppConfig,
    channels: string[],
    data: unknown,
    opts?: PublishOptions,
  ): Promise<BroadcastResult> {
    this.log.record('broadcast', app, channels, data, opts);
    return {
      responses: channels.map((channel) =>
        channel.startsWith('bad')
          ? { channel, error: { code: 102, message: 'namespace "bad" is not configured' } }
          : { channel, ...this.result },
      ),
    };
  }
}

type ServerApiSurface =
  | 'presenceMembers'
  | 'presenceStats'
  | 'history'
  | 'channels'
  | 'disconnectUser'
  | 'unsubscribeUser'
  | 'revokeToken'
  | 'revokeUserTokens'
  | 'info';

export class FakeServerApiService implements Pick<ServerApiService, ServerApiSurface> {
  members: ClientInfo[] = [{ user: 'u1', client: 'c1', info: { name: 'Ann' } }];
  publications: Publication[] = [{ offset: 1, data: { text: 'hi' } }];
  constructor(private readonly log: CallLog) {}

  async presenceMembers(app: AppConfig, channel: string): Promise<ClientInfo[]> {
    this.log.record('presenceMembers', app, channel);
    return this.members;
  }
  async presenceStats(app: AppConfig, channel: string): Promise<{ num_clients: number; num_users: number }> {
    this.log.record('presenceStats', app, channel);
    return { num_clients: 2, num_users: 1 };
  }
  async history(
    app: AppConfig,
    channel: string,
    opts: { limit?: number; since?: StreamPosition; reverse?: boolean },
  ): Promise<{ publications: Publication[]; offset: number; epoch: string }> {
    this.log.record('history', app, channel, opts);
    return { publications: this.publications, offset: 1, epoch: 'ep1' };
  }
  async channels(app: AppConfig, prefix?: string): Promise<{ channel: string; subscribers: number }[]> {
    this.log.record('channels', app, prefix);
    return [{ channel: 'chat:lobby', subscribers: 3 }];
  }
  async disconnectUser(app: AppConfig, user: string): Promise<void> {
    this.log.record('disconnectUser', app, user);
  }
  async unsubscribeUser(app: AppConfig, user: string, channel: string): Promise<void> {
    this.log.record('unsubscribeUser', app, user, channel);
  }
  async revokeToken(app: AppConfig, jti: string, expiresAt: number): Promise<void> {
    this.log.record('revokeToken', app, jti, expiresAt);
  }
  async revokeUserTokens(
    app: AppConfig,
    user: string,
    issuedBefore: number,
    ttlSeconds: number,
  ): Promise<void> {
    this.log.record('revokeUserTokens', app, user, issuedBefore, ttlSeconds);
  }
  async info(app: AppConfig): Promise<{ node: string; connections: number }> {
    this.log.record('info', app);
    return { node: 'node-test-1', connections: 4 };
  }
}

export class FakeTicketService implements Pick<TicketService, 'mint'> {
  constructor(private readonly log: CallLog) {}
  async mint(
    appId: string,
    input: { user: string; info?: unknown; channels?: string[]; ttlSeconds: number },
  ): Promise<{ ticket: string; expiresAt: number }> {
    this.log.record('mint', appId, input);
    return { ticket: 'T'.repeat(43), expiresAt: 1_700_000_000 + input.ttlSeconds };
  }
}

/** Stands in for SessionSupervisor: readiness only reads `draining`. */
export class FakeSupervisor {
  draining = false;
}
