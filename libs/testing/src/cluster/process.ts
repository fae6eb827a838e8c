import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { withTimeout } from '../e2e/test-client.js';

/** Lines of output kept per process, for failure messages (older lines are dropped). */
const KEPT_LINES = 200;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A child process started by the cluster harness: its output is kept (the last lines) and can be
 * awaited line by line, so a test waits on what the process says ("listening", "Ready to accept
 * connections") instead of sleeping or polling a port.
 */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  private readonly lines: string[] = [];
  private readonly lineWaiters = new Set<{
    match: (line: string) => boolean;
    resolve: (l: string) => void;
  }>();
  private exit: ExitInfo | undefined;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    cwd: string,
  ) {
    this.child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        partial += chunk;
        const parts = partial.split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) this.onLine(line);
      });
    }
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error(`${this.name} has no pid (spawn failed)`);
    return pid;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** The last lines of output, for failure messages. */
  tail(n = 40): string {
    return this.lines.slice(-n).join('\n');
  }

  /**
   * The first line (from now on or among the kept ones) that matches, within `timeoutMs`; rejects
   * early when the process exits first.
   */
  waitForLine(match: (line: string) => boolean, timeoutMs: number, what: string): Promise<string> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    let waiter: { match: (line: string) => boolean; resolve: (l: string) => void } | undefined;
    const found = new Promise<string>((resolve, reject) => {
      waiter = { match, resolve };
      this.lineWaiters.add(waiter);
      void this.exited.then((e) =>
        reject(new Error(`${this.name} exited (${e.code ?? e.signal}) before ${what}:\n${this.tail()}`)),
      );
    });
    return withTimeout(found, timeoutMs, `${this.name}: ${what}`).finally(() => {
      if (waiter) this.lineWaiters.delete(waiter);
    });
  }

  /** Sends a signal by pid (never by name); resolves at once. */
  signal(signal: NodeJS.Signals): void {
    if (this.running) process.kill(this.pid, signal);
  }

  /** Sends the signal and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<ExitInfo> {
    this.signal(signal);
    return withTimeout(this.exited, timeoutMs, `${this.name} did not exit after ${signal}`);
  }

  /** Resident set size in bytes (Linux /proc), or undefined when the process is gone. */
  rssBytes(): number | undefined {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
      return kb === undefined ? undefined : Number(kb) * 1024;
    } catch {
      return undefined;
    }
  }

  private onLine(line: string): void {
    this.lines.push(line);
    if (this.lines.length > KEPT_LINES) this.lines.shift();
    for (const w of [...this.lineWaiters]) {
      if (w.match(line)) {
        this.lineWaiters.delete(w);
        w.resolve(line);
      }
    }
  }
}

/** A free loopback port chosen by the kernel (for servers that cannot listen on port 0). */
export function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
