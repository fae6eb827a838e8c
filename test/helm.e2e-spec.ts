import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { ENV_VARIABLES } from '@herald/config';
import { createPostgresDatabase } from '@herald/control/testing';
import {
  describeWithServices,
  ManagedProcess,
  RestClient,
  signHs256,
  TestClient,
  waitFor,
} from '@herald/testing';

// The chart checked with the real Helm (built from its Go module by scripts/tools/helm.sh, cached
// in .tools/) and validated strictly against the Kubernetes API types (tools/k8s-validate), then
// run: the processes the rendered Deployments describe are started locally with the same command,
// arguments and environment, so the chart cannot drift from what the apps accept.
//
// The first run builds both tools (minutes; progress on stderr). If they cannot be built the
// suite fails with the reason: it never skips.

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CHART = join(ROOT, 'helm/herald');
/** The Kubernetes release the chart is rendered for and validated against (k8s.io/api v0.37). */
const KUBE_VERSION = '1.37.0';
const TOOL_BUILD_TIMEOUT_MS = 30 * 60_000;
const VARIANTS = ['', ...readdirSync(join(CHART, 'ci')).map((f) => `ci/${f}`)];
const ROLES = ['api', 'gateway', 'push-dispatcher', 'webhook-dispatcher'];

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
  };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  volumes?: { name: string; configMap?: { name: string }; emptyDir?: object }[];
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: {
    template?: { spec: PodSpec };
    scaleTargetRef?: { name: string };
    metrics?: { type: string; pods?: { metric: { name: string } } }[];
    rules?: { http: { paths: { path: string; backend: { service: { name: string } } }[] } }[];
  };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

let helm = '';
let validator = '';

/** Builds (first run) or finds a tool; stderr (progress) goes to the terminal. */
function tool(script: string): string {
  const result = spawnSync('bash', [join(ROOT, 'scripts/tools', script)], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: TOOL_BUILD_TIMEOUT_MS,
  });
  const path = result.stdout?.trim().split('\n').pop();
  if (result.status !== 0 || !path) {
    throw new Error(
      `scripts/tools/${script} could not build the tool (${result.error?.message ?? `exit ${result.status ?? result.signal}`}). ` +
        'It needs the Go toolchain (go >= 1.26 on PATH) and the Go module proxy; its output is above.',
    );
  }
  return path;
}

function run(
  command: string,
  args: string[],
  input?: string,
): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function template(files: string[], extra: string[] = []): { status: number; stdout: string; stderr: string } {
  const values = files.flatMap((f) => ['-f', f.startsWith('/') ? f : join(CHART, f)]);
  return run(helm, ['template', 'herald', CHART, '--kube-version', KUBE_VERSION, ...values, ...extra]);
}

function render(files: string[], extra: string[] = []): { text: string; objects: K8sObject[] } {
  const r = template(files, extra);
  if (r.status !== 0) throw new Error(`helm template ${files.join(' ')} failed:\n${r.stderr}`);
  const objects = parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
  return { text: r.stdout, objects };
}

const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the rendered chart`);
  return found;
};
const roleOf = (o: K8sObject) => o.metadata.labels?.['app.kubernetes.io/component'] ?? '';

beforeAll(() => {
  helm = tool('helm.sh');
  validator = tool('k8s-validate.sh');
}, TOOL_BUILD_TIMEOUT_MS * 2);

describe('helm/herald with the real Helm', () => {
  it('uses the pinned tools: Helm v3.22 and the validator for Kubernetes 1.37', () => {
    expect(run(helm, ['version', '--template', '{{.Version}}']).stdout).toBe('v3.22.0');
    expect(run(validator, ['-version']).stdout.trim()).toMatch(/^1\.37\./);
  });

  it.each(VARIANTS)('helm lint --strict passes (values: %s)', (variant) => {
    const args = ['lint', CHART, '--strict', '--kube-version', KUBE_VERSION];
    if (variant) args.push('-f', join(CHART, variant));
    const r = run(helm, args);
    expect({ status: r.status, out: r.stdout + r.stderr }).toMatchObject({ status: 0 });
    expect(r.stdout).toContain('0 chart(s) failed');
  });

  it.each(VARIANTS)('renders manifests valid against the Kubernetes 1.37 API (values: %s)', (variant) => {
    const r = template(variant ? [variant] : []);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const v = run(validator, ['-'], r.stdout);
    expect({ status: v.status, stderr: v.stderr }).toEqual({ status: 0, stderr: '' });
    expect(v.stdout).toContain('valid against Kubernetes 1.37');
  });

  it('refuses invalid manifests (validator self-test: unknown field, removed API, bad quantity, dangling selector)', () => {
    const { text } = render([]);
    const typo = run(validator, ['-'], text.replace('readinessProbe:', 'readinesProbe:'));
    expect(typo.status).toBe(1);
    expect(typo.stderr).toContain('unknown field "spec.template.spec.containers[0].readinesProbe"');
    const removed = run(
      validator,
      ['-'],
      text.replace('apiVersion: policy/v1', 'apiVersion: policy/v1beta1'),
    );
    expect(removed.status).toBe(1);
    expect(removed.stderr).toContain(
      'no kind "PodDisruptionBudget" is registered for version "policy/v1beta1"',
    );
    const quantity = run(validator, ['-'], text.replace('memory: 512Mi', 'memory: 512 MB'));
    expect(quantity.status).toBe(1);
    // References between objects: a Service whose selector matches no pod template.
    const docs = text.split(/^---$/m);
    const service = docs.findIndex((d) => /kind: Service\n/.test(d) && /name: herald-api\n/.test(d));
    docs[service] = docs[service].replace(/(selector:[\s\S]*component: )api/, '$1apx');
    const orphan = run(validator, ['-'], docs.join('---'));
    expect(orphan.status).toBe(1);
    expect(orphan.stderr).toContain('Service/herald-api: spec.selector matches no pod template of the input');
  });

  it('refuses bad values with a clear message (schema and template checks)', () => {
    const cases: [string[], string][] = [
      [['--set', 'config.drainSeconds=0'], "at '/config/drainSeconds'"],
      [['--set', 'config.logLevel=loud'], "at '/config/logLevel'"],
      [['--set', 'config.kafka.brokers={kafka}'], "at '/config/kafka/brokers/0'"],
      [['--set', 'redis.url=http://redis'], "at '/redis/url'"],
      [['--set', 'unknownKey=1'], "additional properties 'unknownKey' not allowed"],
      [
        ['--set', 'gateway.terminationGracePeriodSeconds=10'],
        'gateway.terminationGracePeriodSeconds (10) must exceed',
      ],
      [['--set', 'envApp.id=shop'], 'envApp.key is required with envApp.id'],
    ];
    for (const [args, message] of cases) {
      const r = template([], args);
      expect({
        args,
        status: r.status,
        hasMessage: r.stderr.includes(message),
        stderr: r.stderr,
      }).toMatchObject({
        args,
        status: 1,
        hasMessage: true,
      });
    }
  });

  it('describes every role as the issue requires (default values)', () => {
    const { objects } = render([]);
    const config = named(objects, 'ConfigMap', 'herald-config').data ?? {};
    const drain = Number(config['HERALD_DRAIN_SECONDS']);
    const deployments = byKind(objects, 'Deployment');
    expect(deployments.map(roleOf).sort()).toEqual([...ROLES].sort());
    for (const d of deployments) {
      const pod = d.spec?.template?.spec as PodSpec;
      const c = pod.containers[0];
      // One image for every role; the role is the entry point.
      expect(c.image).toBe('ghcr.io/herald/herald:0.1.0');
      expect([...(c.command ?? []), ...(c.args ?? [])]).toEqual([
        'node',
        `dist/apps/${roleOf(d)}/src/main.js`,
      ]);
      expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
      const preStop = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStop + drain);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
      expect(c.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
      });
      expect(Object.keys(c.resources?.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
      expect(Object.keys(c.resources?.limits ?? {}).sort()).toEqual(['cpu', 'memory']);
      expect(c.envFrom?.[0]?.configMapRef?.name).toBe('herald-config');
      // Secrets by reference only, never in the ConfigMap.
      const secretRefs = (c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name);
      expect(secretRefs).toEqual(
        expect.arrayContaining(['HERALD_REDIS_URL', 'HERALD_POSTGRES_URL', 'HERALD_MASTER_KEY']),
      );
      for (const name of secretRefs) expect(config[name]).toBeUndefined();
    }
    // The gateway has a preStop hook (endpoints drop it before the drain begins).
    const gateway = named(objects, 'Deployment', 'herald-gateway').spec?.template?.spec as PodSpec;
    expect(gateway.containers[0].lifecycle?.preStop?.sleep?.seconds).toBeGreaterThan(0);
    // HPA: gateways on connections per pod (and CPU), api on CPU.
    const hpas = byKind(objects, 'HorizontalPodAutoscaler');
    expect(hpas.map((h) => h.spec?.scaleTargetRef?.name).sort()).toEqual(['herald-api', 'herald-gateway']);
    const gwHpa = named(objects, 'HorizontalPodAutoscaler', 'herald-gateway');
    expect(gwHpa.spec?.metrics?.find((m) => m.type === 'Pods')?.pods?.metric.name).toBe(
      'herald_node_connections',
    );
    expect(byKind(objects, 'PodDisruptionBudget').map(roleOf).sort()).toEqual([...ROLES].sort());
    expect(byKind(objects, 'Service').map(roleOf).sort()).toEqual([...ROLES].sort());
  });

  it('matches the image the Dockerfile builds (user, working directory, port, entry points)', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const { objects } = render([]);
    const pod = named(objects, 'Deployment', 'herald-gateway').spec?.template?.spec as PodSpec;
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    // Multi-stage; the runtime stage is the last and runs the production tree as non-root.
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(3);
    expect(dockerfile).toMatch(/npm ci --omit=dev --ignore-scripts/);
    expect(runtime).toMatch(/^WORKDIR \/app$/m);
    expect(runtime).toMatch(new RegExp(`^USER ${pod.securityContext?.runAsUser ?? -1}:`, 'm'));
    expect(runtime).toMatch(/^EXPOSE 8080$/m);
    expect(String(render([]).objects.find((o) => o.kind === 'ConfigMap')?.data?.['HERALD_PORT'])).toBe(
      '8080',
    );
    expect(runtime).toMatch(/^CMD \["node", "dist\/apps\/standalone\/src\/main\.js"\]$/m);
    // Every role's entry point exists in the built tree the image copies (dist/).
    for (const d of byKind(objects, 'Deployment')) {
      const args = (d.spec?.template?.spec as PodSpec).containers[0].args ?? [];
      expect(existsSync(join(ROOT, args[0] ?? ''))).toBe(true);
    }
  });

  it('renders the ingress for streams, consistent hashing, ServiceMonitor and dashboard (full values)', () => {
    const { objects } = render(['ci/full-values.yaml']);
    const gw = named(objects, 'Ingress', 'herald-gateway');
    expect(gw.metadata.annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
      'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600',
      'nginx.ingress.kubernetes.io/proxy-buffering': 'off',
      'nginx.ingress.kubernetes.io/upstream-hash-by': '$http_x_herald_user',
    });
    expect(gw.spec?.rules?.[0].http.paths[0]).toMatchObject({
      path: '/connection',
      backend: { service: { name: 'herald-gateway' } },
    });
    expect(named(objects, 'Ingress', 'herald-api').spec?.rules?.[0].http.paths[0].path).toBe('/');
    expect(named(objects, 'ServiceMonitor', 'herald').metadata.labels?.['release']).toBe('prometheus');
    const dashboard = named(objects, 'ConfigMap', 'herald-dashboard').data?.['herald.json'] ?? '';
    expect((JSON.parse(dashboard) as { uid: string }).uid).toBe('herald-overview');
    // An existing Secret replaces the chart's.
    const existing = render(['ci/existing-secret-values.yaml']).objects;
    expect(byKind(existing, 'Secret')).toEqual([]);
    const api = named(existing, 'Deployment', 'herald-api').spec?.template?.spec as PodSpec;
    expect(
      api.containers[0].env?.find((e) => e.name === 'HERALD_POSTGRES_URL')?.valueFrom?.secretKeyRef,
    ).toEqual({
      name: 'herald-credentials',
      key: 'DATABASE_URL',
      optional: false,
    });
  });
});

describe('invalid configuration at startup', () => {
  it('every role exits 1 with one plain message listing every problem (a hand-edited ConfigMap)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-helm-bad-'));
    const start = (args: string[], env: Record<string, string>) =>
      spawnSync(process.execPath, args, {
        cwd: ROOT,
        encoding: 'utf8',
        env: { PATH: process.env['PATH'] ?? '', NODE_NO_WARNINGS: '1', ...env },
        timeout: 30_000,
      });
    try {
      const { objects } = render(['ci/full-values.yaml']);
      for (const deployment of byKind(objects, 'Deployment')) {
        const pod = deployment.spec?.template?.spec as PodSpec;
        const c = pod.containers[0];
        const env = containerEnv(deployment, c, pod, objects, dir);
        // What values.schema.json would refuse, as if the ConfigMap had been edited by hand.
        Object.assign(env, {
          HERALD_LOG_LEVEL: 'loud',
          HERALD_KAFKA_PARTITIONS: 'many',
          HERALD_REDIS_URL: 'http://redis',
        });
        const role = roleOf(deployment);
        const r = start(c.args ?? [], env);
        expect({ role, status: r.status }).toEqual({ role, status: 1 });
        expect(r.stderr).toContain('herald: invalid configuration');
        // Environment problems first, every one of them, and never a stack trace.
        expect(r.stderr).toContain(
          'HERALD_KAFKA_PARTITIONS (kafka.partitions): expected an integer, got "many"',
        );
        expect(r.stderr).not.toMatch(/\n\s+at /);
        // Then the schema problems, all at once.
        env['HERALD_KAFKA_PARTITIONS'] = '4';
        const again = start(c.args ?? [], env);
        expect({ role, status: again.status }).toEqual({ role, status: 1 });
        expect(again.stderr).toContain('log.level: ');
        expect(again.stderr).toContain('redis.url: redis.url must start with redis:// or rediss://');
        expect(again.stderr).not.toMatch(/\n\s+at /);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describeWithServices(
  ['kafka', 'redis', 'postgres'],
  'helm/herald: the rendered processes start and serve',
  ([kafka, redis, postgres]) => {
    const START_TIMEOUT_MS = 60_000;
    const dir = mkdtempSync(join(tmpdir(), 'herald-helm-'));
    const processes: ManagedProcess[] = [];
    let database: Awaited<ReturnType<typeof createPostgresDatabase>> | undefined;

    afterAll(async () => {
      await Promise.all(
        processes.filter((p) => p.running).map((p) => p.kill('SIGKILL', 10_000).catch(() => undefined)),
      );
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('starts every Deployment with its own command, args and environment; all become ready, serve, and exit cleanly on SIGTERM', async () => {
      database = await createPostgresDatabase(postgres);
      const prefix = `hh${randomBytes(4).toString('hex')}`;
      const app = {
        id: `${prefix}-app`,
        key: `key_${randomBytes(8).toString('hex')}`,
        secret: randomBytes(36).toString('base64url'),
      };
      // The infra of this machine, and fresh secrets, as values: the chart renders them into its
      // ConfigMap and Secret exactly as it would for external services.
      const overrides = join(dir, 'local-values.yaml');
      writeFileSync(
        overrides,
        stringify({
          config: {
            kafka: {
              brokers: kafka.split(','),
              partitions: 4,
              replicationFactor: 1,
              topicPrefix: `${prefix}.`,
            },
            redis: { keyPrefix: `${prefix}:` },
          },
          redis: { url: redis },
          postgres: { url: database.url },
          secrets: {
            masterKey: randomBytes(32).toString('base64'),
            adminToken: randomBytes(36).toString('base64url'),
          },
          envApp: { id: app.id, key: app.key, secret: app.secret, origins: [] },
        }),
      );
      const { objects } = render(['ci/full-values.yaml', overrides]);
      const knownEnv = new Set(ENV_VARIABLES.map((v) => v.name));

      const started = await Promise.all(
        byKind(objects, 'Deployment').map(async (deployment) => {
          const pod = deployment.spec?.template?.spec as PodSpec;
          const c = pod.containers[0];
          const env = containerEnv(deployment, c, pod, objects, dir);
          // What the chart sets must be what the apps read.
          const unknown = Object.keys(env).filter((n) => !knownEnv.has(n) && n !== 'POD_IP');
          expect({ role: roleOf(deployment), unknown }).toEqual({ role: roleOf(deployment), unknown: [] });
          // Pod networking replaced by loopback: the only substitutions.
          env['HERALD_HOST'] = '127.0.0.1';
          env['HERALD_PORT'] = '0';
          const [command, ...args] = [...(c.command ?? []), ...(c.args ?? [])];
          expect(command).toBe('node');
          const proc = new ManagedProcess(
            `${roleOf(deployment)}(chart)`,
            process.execPath,
            args,
            { PATH: process.env['PATH'] ?? '', NODE_NO_WARNINGS: '1', ...env },
            ROOT, // the image's WORKDIR /app holds the same dist/, node_modules/ and package.json
          );
          processes.push(proc);
          const line = await proc.waitForLine(
            (l) => l.includes('"msg":"listening"'),
            START_TIMEOUT_MS,
            'listening',
          );
          const port = (JSON.parse(line) as { port: number }).port;
          return { role: roleOf(deployment), container: c, pod, proc, url: `http://127.0.0.1:${port}` };
        }),
      );
      expect(started.map((s) => s.role).sort()).toEqual([...ROLES].sort());

      for (const s of started) {
        const ready = s.container.readinessProbe?.httpGet?.path ?? '';
        const live = s.container.livenessProbe?.httpGet?.path ?? '';
        await waitFor(async () => (await fetch(s.url + ready)).status === 200, {
          timeoutMs: 30_000,
          intervalMs: 100,
          message: `${s.role} ${ready} never answered 200:\n${s.proc.tail()}`,
        });
        expect((await fetch(s.url + live)).status).toBe(200);
        const metrics = await (await fetch(`${s.url}/metrics`)).text();
        expect(metrics).toContain('herald_process_start_time_seconds');
      }

      // The env app from the chart's ConfigMap and Secret works end to end: api -> Kafka -> gateway.
      const gateway = started.find((s) => s.role === 'gateway');
      const api = started.find((s) => s.role === 'api');
      if (!gateway || !api) throw new Error('gateway or api missing');
      const client = await TestClient.open(
        `${gateway.url.replace(/^http/, 'ws')}/connection/websocket?key=${app.key}`,
      );
      await client.request({
        cmd: 'connect',
        token: signHs256(app.secret, { sub: 'helm-user', aud: app.id }),
      });
      await client.request({ cmd: 'subscribe', channel: 'lobby' });
      await new RestClient(api.url, app.id, app.secret).publish('lobby', { via: 'chart' });
      const push = await client.nextPush((p) => p.push === 'pub' && p.channel === 'lobby');
      expect(push).toMatchObject({ push: 'pub', channel: 'lobby' });
      await client.close();

      // SIGTERM: each process drains and exits 0 within its grace period (minus the preStop sleep
      // the kubelet would have spent first).
      await Promise.all(
        started.map(async (s) => {
          const grace =
            (s.pod.terminationGracePeriodSeconds ?? 30) -
            (s.container.lifecycle?.preStop?.sleep?.seconds ?? 0);
          const exit = await s.proc.kill('SIGTERM', grace * 1000);
          expect({ role: s.role, ...exit }).toEqual({ role: s.role, code: 0, signal: null });
        }),
      );
    }, 180_000);
  },
);

/**
 * The environment the kubelet would give the container: envFrom ConfigMaps and Secrets, then
 * `env` (values with $(VAR) expansion, field refs, secret and ConfigMap key refs), from the
 * rendered objects. ConfigMap volumes are written under `dir` and paths into them rewritten.
 */
function containerEnv(
  deployment: K8sObject,
  c: Container,
  pod: PodSpec,
  objects: K8sObject[],
  dir: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  const secretValue = (name: string, key: string): string | undefined => {
    const s = named(objects, 'Secret', name);
    const raw = s.data?.[key];
    return (
      s.stringData?.[key] ?? (raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8'))
    );
  };
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, named(objects, 'ConfigMap', from.configMapRef.name).data);
    if (from.secretRef) Object.assign(env, named(objects, 'Secret', from.secretRef.name).stringData);
  }
  for (const e of c.env ?? []) {
    let value: string | undefined;
    const field = e.valueFrom?.fieldRef?.fieldPath;
    const secretRef = e.valueFrom?.secretKeyRef;
    const mapRef = e.valueFrom?.configMapKeyRef;
    if (e.value !== undefined)
      value = e.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n: string) => env[n] ?? m);
    else if (field === 'status.podIP') value = '127.0.0.1';
    else if (field === 'metadata.name') value = `${deployment.metadata.name}-local-0`;
    else if (secretRef) value = secretValue(secretRef.name, secretRef.key);
    else if (mapRef) value = named(objects, 'ConfigMap', mapRef.name).data?.[mapRef.key];
    else
      throw new Error(`${deployment.metadata.name}: env ${e.name} has a source this test does not resolve`);
    const optional = secretRef?.optional ?? mapRef?.optional ?? false;
    if (value === undefined && !optional)
      throw new Error(`${deployment.metadata.name}: env ${e.name} unresolved`);
    if (value !== undefined) env[e.name] = value;
  }
  for (const mount of c.volumeMounts ?? []) {
    const volume = pod.volumes?.find((v) => v.name === mount.name);
    if (!volume?.configMap) continue;
    const local = join(dir, `${deployment.metadata.name}-${mount.name}`);
    mkdirSync(local, { recursive: true });
    for (const [file, content] of Object.entries(
      named(objects, 'ConfigMap', volume.configMap.name).data ?? {},
    )) {
      writeFileSync(join(local, file), content);
    }
    for (const [name, value] of Object.entries(env)) {
      if (value.startsWith(`${mount.mountPath}/`)) env[name] = local + value.slice(mount.mountPath.length);
    }
  }
  return env;
}
