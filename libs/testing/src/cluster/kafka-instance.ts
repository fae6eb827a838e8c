import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * A private single-node Kafka for one suite, started by `scripts/infra/kafka.sh up-instance <dir>`
 * from the jars the shared broker already cached: a suite that pauses its broker (SIGSTOP) or stops
 * it uses this one, so the shared broker other suites rely on is never disturbed. Startup takes
 * a JVM's time (about 10 s on two cores); the script returns once the broker and its group
 * coordinator answer.
 */
export class KafkaInstance {
  private constructor(
    readonly dir: string,
    readonly brokers: string,
    readonly pid: number,
  ) {}

  static async start(): Promise<KafkaInstance> {
    const dir = mkdtempSync(join(tmpdir(), 'herald-kafka-'));
    try {
      await run('bash', ['scripts/infra/kafka.sh', 'up-instance', dir], { cwd: ROOT, timeout: 120_000 });
    } catch (err) {
      const log = safeRead(join(dir, 'kafka.log')).split('\n').slice(-30).join('\n');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`private Kafka did not start: ${(err as Error).message}\n${log}`, { cause: err });
    }
    const env = readFileSync(join(dir, 'kafka.env'), 'utf8');
    const brokers = /HERALD_TEST_KAFKA_URL=(\S+)/.exec(env)?.[1];
    const pid = Number(readFileSync(join(dir, 'kafka.pid'), 'utf8').trim());
    if (!brokers || !Number.isInteger(pid))
      throw new Error(`private Kafka in ${dir} wrote no address or pid`);
    return new KafkaInstance(dir, brokers, pid);
  }

  /** SIGSTOP: the broker keeps its sockets open and answers nothing, like a stalled machine. */
  pause(): void {
    process.kill(this.pid, 'SIGSTOP');
  }

  resume(): void {
    process.kill(this.pid, 'SIGCONT');
  }

  async destroy(): Promise<void> {
    // A stopped JVM cannot handle SIGTERM: let it run before the script stops it.
    try {
      process.kill(this.pid, 'SIGCONT');
    } catch {
      // already gone
    }
    await run('bash', ['scripts/infra/kafka.sh', 'down-instance', this.dir], { cwd: ROOT, timeout: 60_000 });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
