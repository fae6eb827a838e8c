// Target adapter for Herald in cluster mode (`npm run bench -- --cluster`): one api process
// (dist/apps/api) that takes the REST publishes, and N gateway processes (dist/apps/gateway) that
// hold the WebSocket subscribers, linked by Kafka (bus) and Redis (presence, history, state).
// Adapter shape: see targets/ref.mjs, plus what the cluster scenario in run.mjs needs:
//
//   cluster: true
//   server(ctx, role)            → role 'api' | 'gateway'; { script, env, cwd }
//   setup(ctx)                   → async, before any process starts: creates the run's topics
//   infraPids()                  → { kafka, redis }: pids of the shared services (CPU is read, never
//                                  signalled), from .infra/<name>.pid written by scripts/infra.sh
//   busRecord(channel, payload)  → { topic, key, value }: one publication exactly as the api
//                                  writes it to Kafka (for the flood phases, which produce records
//                                  directly, bypassing the api)
//   cleanup(ctx)                 → deletes this run's config file, Kafka topics and Redis keys
//
// Everything the client side assumes (WebSocket path, connect/subscribe, REST publish) is the
// standalone adapter's (targets/herald.mjs). What is cluster-specific:
//
// - Infrastructure: Kafka brokers from HERALD_BENCH_KAFKA_BROKERS, else .infra/kafka.env
//   (HERALD_TEST_KAFKA_URL); Redis from HERALD_BENCH_REDIS_URL, else .infra/redis.env
//   (HERALD_TEST_REDIS_URL). Start them with `scripts/infra.sh up kafka redis`.
// - Isolation: every run gets its own Kafka topic prefix and Redis key prefix
//   (`bench-<time>-<random>`), so runs never see each other's records or keys and share the
//   services with other users safely; cleanup() removes both at the end.
// - Apps: control driver `config`, from a JSON file written to the OS temp directory: app `bench`,
//   key `bench-key`, a random secret, and limits raised so the benchmark measures delivery rather
//   than the publish rate limit (1,000/s by default) or the per-app connection limit (10,000).
// - Records (libs/core/src/envelope.ts): key `<app>:chan:<channel>`, value = JSON header line
//   `{"k":"pub","a":<app>,"c":<channel>}`, "\n", then the ready-to-send frame
//   `{"push":"pub","channel":<channel>,"pub":{"data":<payload>}}` (channels without history).

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { herald } from './herald.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const APP_ID = 'bench';
const APP_KEY = 'bench-key';
const PUBLICATIONS_TOPIC = 'herald.publications'; // libs/bus/src/bus.ts Topics.PUBLICATIONS
const TOPICS = [PUBLICATIONS_TOPIC, 'herald.control', 'herald.events', 'herald.push'];

function readEnvFile(name) {
  try {
    const out = {};
    for (const line of readFileSync(`${root}.infra/${name}.env`, 'utf8').split('\n')) {
      const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
      if (m) out[m[1]] = m[2];
    }
    return out;
  } catch {
    return {};
  }
}

function readPid(name) {
  try {
    const pid = Number(readFileSync(`${root}.infra/${name}.pid`, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) ? pid : null;
  } catch {
    return null;
  }
}

export const heraldCluster = {
  ...herald,
  name: 'herald-cluster',
  description: 'Herald cluster: api + gateways (dist/apps/{api,gateway}) on Kafka + Redis',
  cluster: true,

  prepare() {
    const brokers = process.env.HERALD_BENCH_KAFKA_BROKERS ?? readEnvFile('kafka').HERALD_TEST_KAFKA_URL;
    const redisUrl = process.env.HERALD_BENCH_REDIS_URL ?? readEnvFile('redis').HERALD_TEST_REDIS_URL;
    if (!brokers || !redisUrl)
      throw new Error(
        'herald-cluster needs Kafka and Redis: run `scripts/infra.sh up kafka redis`, or set ' +
          'HERALD_BENCH_KAFKA_BROKERS and HERALD_BENCH_REDIS_URL',
      );
    const secret = randomBytes(36).toString('base64url');
    const runId = `bench-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const configPath = `${os.tmpdir()}/herald-${runId}.json`;
    const config = {
      apps: [
        {
          id: APP_ID,
          keys: [APP_KEY],
          secrets: [secret],
          limits: { publishesPerSecond: 10_000_000, maxConnections: 0, maxConnectionsPerUser: 0 },
        },
      ],
    };
    writeFileSync(configPath, JSON.stringify(config), { mode: 0o600 });
    return {
      secret,
      runId,
      configPath,
      brokers,
      redisUrl,
      topicPrefix: `${runId}.`,
      keyPrefix: `${runId}:`,
      partitions: Number(process.env.HERALD_BENCH_KAFKA_PARTITIONS ?? 16),
    };
  },

  server: (ctx, role = 'gateway') => {
    if (role !== 'api' && role !== 'gateway') throw new Error(`herald-cluster: unknown role ${role}`);
    return {
      script: `${root}dist/apps/${role}/src/main.js`,
      cwd: root,
      env: {
        HERALD_CONFIG: ctx.configPath,
        HERALD_HOST: '127.0.0.1',
        HERALD_PORT: '0',
        HERALD_LOG_LEVEL: 'warn',
        HERALD_ENV: 'development',
        HERALD_NEW_CONNECTIONS_PER_SECOND: '100000',
        HERALD_DRAIN_SECONDS: '1',
        HERALD_CONTROL_DRIVER: 'config',
        HERALD_BUS_DRIVER: 'kafka',
        HERALD_KAFKA_BROKERS: ctx.brokers,
        HERALD_KAFKA_TOPIC_PREFIX: ctx.topicPrefix,
        HERALD_KAFKA_PARTITIONS: String(ctx.partitions),
        HERALD_PRESENCE_DRIVER: 'redis',
        HERALD_HISTORY_DRIVER: 'redis',
        HERALD_STATE_DRIVER: 'redis',
        HERALD_REDIS_URL: ctx.redisUrl,
        HERALD_REDIS_KEY_PREFIX: ctx.keyPrefix,
        // Shadow anything the caller's shell exported for the env app: the config file has it.
        HERALD_APP_ID: '',
        HERALD_APP_KEY: '',
        HERALD_APP_SECRET: '',
      },
    };
  },

  /**
   * Creates the run's topics and waits (bounded) until every partition has a leader that answers
   * ListOffsets. Without it a process that creates a topic itself can fail its first offset lookup
   * with NOT_LEADER_OR_FOLLOWER right after creation (seen on the single-broker KRaft setup).
   */
  async setup(ctx) {
    const kafkajs = (await import('kafkajs')).default;
    const kafka = new kafkajs.Kafka({
      clientId: 'herald-bench',
      brokers: ctx.brokers.split(','),
      logLevel: kafkajs.logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topics = TOPICS.map((t) => `${ctx.topicPrefix}${t}`);
      await admin.createTopics({
        waitForLeaders: true,
        topics: topics.map((topic) => ({ topic, numPartitions: ctx.partitions, replicationFactor: 1 })),
      });
      for (const topic of topics) {
        for (let attempt = 1; ; attempt++) {
          try {
            await admin.fetchTopicOffsets(topic);
            break;
          } catch (err) {
            if (attempt >= 50)
              throw new Error(`topic ${topic} has no leader after 10 s: ${err.message}`, { cause: err });
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      }
    } finally {
      await admin.disconnect();
    }
  },

  infraPids: () => ({ kafka: readPid('kafka'), redis: readPid('redis') }),

  busRecord(ctx, channel, payloadJson) {
    const header = JSON.stringify({ k: 'pub', a: APP_ID, c: channel });
    const frame = `{"push":"pub","channel":${JSON.stringify(channel)},"pub":{"data":${payloadJson}}}`;
    return {
      topic: `${ctx.topicPrefix}${PUBLICATIONS_TOPIC}`,
      key: `${APP_ID}:chan:${channel}`,
      value: `${header}\n${frame}`,
    };
  },

  /** Best effort, bounded: the run's config file, Kafka topics and Redis keys. */
  async cleanup(ctx) {
    rmSync(ctx.configPath, { force: true });
    const notes = [];
    try {
      const { default: kafkajs } = await import('kafkajs');
      const kafka = new kafkajs.Kafka({
        clientId: 'herald-bench',
        brokers: ctx.brokers.split(','),
        logLevel: kafkajs.logLevel.NOTHING,
      });
      const admin = kafka.admin();
      await admin.connect();
      try {
        const topics = (await admin.listTopics()).filter((t) => t.startsWith(ctx.topicPrefix));
        if (topics.length) await admin.deleteTopics({ topics, timeout: 10_000 });
        notes.push(`${topics.length} Kafka topics deleted`);
      } finally {
        await admin.disconnect();
      }
    } catch (err) {
      notes.push(`Kafka cleanup failed: ${err.message}`);
    }
    try {
      const { Redis } = await import('ioredis');
      const redis = new Redis(ctx.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
      try {
        let cursor = '0';
        let deleted = 0;
        for (let i = 0; i < 10_000; i++) {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${ctx.keyPrefix}*`, 'COUNT', 1000);
          if (keys.length) deleted += await redis.del(...keys);
          cursor = next;
          if (cursor === '0') break;
        }
        notes.push(`${deleted} Redis keys deleted`);
      } finally {
        redis.disconnect();
      }
    } catch (err) {
      notes.push(`Redis cleanup failed: ${err.message}`);
    }
    return notes.join(', ');
  },
};
