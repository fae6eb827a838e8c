import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess, freePort } from './process.js';

const READY = /Ready to accept connections/;

/**
 * A private redis-server for one suite, without persistence (`--save ''`, no AOF), on a free
 * loopback port: the suite may restart it (every key is lost, the address stays the same) without
 * disturbing the shared Redis that other suites use. Needs Debian's redis-server on the PATH
 * (`scripts/infra.sh up redis` installs it).
 */
export class RedisInstance {
  private process: ManagedProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(): Promise<RedisInstance> {
    const dir = mkdtempSync(join(tmpdir(), 'herald-redis-'));
    const instance = new RedisInstance(await freePort(), dir);
    await instance.launch();
    return instance;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** Stops the server and starts a new one on the same port: all data is gone. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  async stop(): Promise<void> {
    const p = this.process;
    this.process = undefined;
    if (p?.running) await p.kill('SIGTERM');
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    args.push('--dir', this.dir, '--daemonize', 'no');
    const p = new ManagedProcess(`redis:${this.port}`, 'redis-server', args, process.env, this.dir);
    this.process = p;
    // redis-server prints this line once it accepts connections: the event to wait on.
    await p.waitForLine((l) => READY.test(l), 15_000, 'redis ready');
  }
}
