/**
 * `herald`: the operator's command line over the admin API. Pure apart from its injected I/O
 * (fetch, env, output streams, reading the development token file), so specs run it in process.
 *
 *   herald apps create [--id ID] [--name NAME] [--origins a,b]
 *   herald apps list | show ID | disable ID | enable ID | delete ID --yes
 *   herald keys list --app ID
 *   herald keys create --app ID [--client] [--scopes publish,token,stats,admin] [--label TEXT]
 *   herald keys rotate --app ID --secret SECRET_ID [--grace SECONDS]
 *   herald keys revoke --app ID (--secret SECRET_ID | --client KEY)
 *   herald token --app ID --user USER [--ttl SECONDS] [--channels a,b]
 *   herald usage --app ID [--from YYYY-MM-DD] [--to YYYY-MM-DD]
 *
 * Connection: `--url` (or HERALD_URL, default http://127.0.0.1:8080) and `--admin-token` (or
 * HERALD_ADMIN_TOKEN, or the development token file `<HERALD_DATA_DIR or data>/admin-token`).
 * `--json` prints the API's answer as is. Exit codes: 0 done, 1 the API refused, 2 usage error.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  fetch: typeof fetch;
  out: (text: string) => void;
  err: (text: string) => void;
  readFile?: (path: string) => string | undefined;
}

class UsageError extends Error {}

const USAGE = `usage: herald <command> [options]

  apps create [--id ID] [--name NAME] [--origins a,b]
  apps list | apps show ID | apps disable ID | apps enable ID | apps delete ID --yes
  keys list --app ID
  keys create --app ID [--client] [--scopes publish,token,stats,admin] [--label TEXT]
  keys rotate --app ID --secret SECRET_ID [--grace SECONDS]
  keys revoke --app ID (--secret SECRET_ID | --client KEY)
  token --app ID --user USER [--ttl SECONDS] [--channels a,b]
  usage --app ID [--from YYYY-MM-DD] [--to YYYY-MM-DD]

options: --url URL (HERALD_URL)  --admin-token TOKEN (HERALD_ADMIN_TOKEN)  --json
`;

const OPTIONS = {
  url: { type: 'string' },
  'admin-token': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  id: { type: 'string' },
  name: { type: 'string' },
  origins: { type: 'string' },
  yes: { type: 'boolean' },
  app: { type: 'string' },
  client: { type: 'string' },
  secret: { type: 'string' },
  scopes: { type: 'string' },
  label: { type: 'string' },
  grace: { type: 'string' },
  user: { type: 'string' },
  ttl: { type: 'string' },
  channels: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  // `keys create --app x --client` takes --client as a flag; elsewhere --client names a key.
  const args = [...argv];
  const flagClient = args[0] === 'keys' && args[1] === 'create' && args.includes('--client');
  if (flagClient) args.splice(args.indexOf('--client'), 1);
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    io.err(`herald: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const {
    values: v,
    positionals: [group, action, ...rest],
  } = parsed;
  if (v.help || group === undefined) {
    io.out(USAGE);
    return group === undefined && !v.help ? 2 : 0;
  }
  try {
    const api = client(v, io);
    const answer = await dispatch(group, action, rest, v, flagClient, api, io);
    if (answer.status >= 400) {
      const e = answer.body['error'] as { name?: string; message?: string } | undefined;
      io.err(`herald: ${e?.name ?? answer.status}: ${e?.message ?? 'request failed'}\n`);
      return 1;
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`herald: ${err.message}\n${USAGE}`);
      return 2;
    }
    io.err(`herald: ${(err as Error).message}\n`);
    return 1;
  }
}

type Api = (method: string, path: string, body?: unknown) => Promise<Answer>;

function client(v: Values, io: CliIo): Api {
  const base = (v.url ?? io.env['HERALD_URL'] ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const token = v['admin-token'] ?? io.env['HERALD_ADMIN_TOKEN'] ?? devToken(io);
  return async (method, path, body) => {
    if (token === undefined) {
      throw new Error('no admin token: pass --admin-token or set HERALD_ADMIN_TOKEN');
    }
    const res = await io.fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: Record<string, unknown>;
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { error: { message: `unexpected answer (HTTP ${res.status})` } };
    }
    return { status: res.status, body: parsed };
  };
}

function devToken(io: CliIo): string | undefined {
  const dir = io.env['HERALD_DATA_DIR'] ?? 'data';
  const read =
    io.readFile ??
    ((path: string) => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return undefined;
      }
    });
  return read(join(dir, 'admin-token'))?.trim() || undefined;
}

function need(value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new UsageError(`${what} is required`);
  return value;
}

function int(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${what} must be a whole number`);
  return Number(value);
}

const list = (value: string | undefined) =>
  value
    ?.split(',')
    .map((x) => x.trim())
    .filter(Boolean);

const enc = encodeURIComponent;

async function dispatch(
  group: string,
  action: string | undefined,
  rest: string[],
  v: Values,
  flagClient: boolean,
  api: Api,
  io: CliIo,
): Promise<Answer> {
  const print = (answer: Answer, human: (b: Record<string, unknown>) => string): Answer => {
    if (answer.status < 400)
      io.out(v.json ? `${JSON.stringify(answer.body, null, 2)}\n` : human(answer.body));
    return answer;
  };
  const app = () => `/v1/admin/apps/${enc(need(v.app ?? rest[0], '--app'))}`;
  if (group === 'apps') {
    const id = () => `/v1/admin/apps/${enc(need(rest[0] ?? v.id, 'the app id'))}`;
    switch (action) {
      case 'create': {
        const body: Record<string, unknown> = {};
        if (v.id) body['id'] = v.id;
        if (v.name) body['name'] = v.name;
        if (v.origins) body['allowed_origins'] = list(v.origins);
        return print(await api('POST', '/v1/admin/apps', body), (b) => {
          const a = b['app'] as { id: string };
          const k = b['key'] as { key: string };
          const s = b['secret'] as { secret: string; record: { id: string } };
          return (
            `app:        ${a.id}\nclient key: ${k.key}\nsecret id:  ${s.record.id}\n` +
            `secret:     ${s.secret}\n(the secret is shown once: store it now)\n`
          );
        });
      }
      case 'list':
        return print(await api('GET', '/v1/admin/apps'), (b) =>
          (b['apps'] as { id: string; enabled: boolean; managed_by: string; name: string }[])
            .map((a) => `${a.id}\t${a.enabled ? 'enabled' : 'disabled'}\t${a.managed_by}\t${a.name}\n`)
            .join(''),
        );
      case 'show':
        return print(await api('GET', id()), (b) => `${JSON.stringify(b, null, 2)}\n`);
      case 'disable':
      case 'enable':
        return print(await api('POST', `${id()}/${action}`), (b) => `${String(b['id'])}: ${action}d\n`);
      case 'delete':
        if (!v.yes) throw new UsageError('deleting an app removes its keys, secrets and usage: add --yes');
        return print(await api('DELETE', id()), () => `deleted\n`);
    }
    throw new UsageError(`unknown command: apps ${action ?? ''}`);
  }
  if (group === 'keys') {
    switch (action) {
      case 'list': {
        const keys = await api('GET', `${app()}/keys`);
        if (keys.status >= 400) return keys;
        const secrets = await api('GET', `${app()}/secrets`);
        return print(
          { status: secrets.status, body: { keys: keys.body['keys'], secrets: secrets.body['secrets'] } },
          (b) => {
            const k = (b['keys'] as { key: string; revoked_at?: string }[]).map(
              (x) => `client ${x.key}${x.revoked_at ? ' (revoked)' : ''}\n`,
            );
            const s = (
              (b['secrets'] as {
                id: string;
                hint: string;
                scopes: string[];
                live: boolean;
                retires_at?: string;
              }[]) ?? []
            ).map(
              (x) =>
                `secret ${x.id} …${x.hint} [${x.scopes.join(',')}]${x.live ? '' : ' (not live)'}${x.retires_at && x.live ? ` retires ${x.retires_at}` : ''}\n`,
            );
            return [...k, ...s].join('');
          },
        );
      }
      case 'create':
        if (flagClient) {
          return print(
            await api('POST', `${app()}/keys`, v.label ? { label: v.label } : {}),
            (b) => `client key: ${String(b['key'])}\n`,
          );
        }
        return print(
          await api('POST', `${app()}/secrets`, {
            ...(v.scopes ? { scopes: list(v.scopes) } : {}),
            ...(v.label ? { label: v.label } : {}),
          }),
          (b) => secretText(b),
        );
      case 'rotate': {
        const grace = int(v.grace, '--grace');
        return print(
          await api(
            'POST',
            `${app()}/secrets/${enc(need(v.secret, '--secret'))}/rotate`,
            grace === undefined ? {} : { grace_seconds: grace },
          ),
          (b) => secretText(b),
        );
      }
      case 'revoke':
        if (v.secret)
          return print(await api('DELETE', `${app()}/secrets/${enc(v.secret)}`), () => 'revoked\n');
        if (v.client) return print(await api('DELETE', `${app()}/keys/${enc(v.client)}`), () => 'revoked\n');
        throw new UsageError('keys revoke needs --secret SECRET_ID or --client KEY');
    }
    throw new UsageError(`unknown command: keys ${action ?? ''}`);
  }
  if (group === 'token') {
    const ttl = int(v.ttl, '--ttl');
    const body: Record<string, unknown> = { user: need(v.user, '--user') };
    if (ttl !== undefined) body['ttl_seconds'] = ttl;
    if (v.channels) body['channels'] = list(v.channels);
    return print(await api('POST', `${app()}/tokens`, body), (b) => `${String(b['token'])}\n`);
  }
  if (group === 'usage') {
    const q = new URLSearchParams();
    if (v.from) q.set('from', v.from);
    if (v.to) q.set('to', v.to);
    const suffix = q.size > 0 ? `?${q.toString()}` : '';
    return print(await api('GET', `${app()}/usage${suffix}`), (b) =>
      ['day\tpeak\tpublished\tdelivered\tpushes\n']
        .concat(
          (
            b['days'] as {
              day: string;
              peak_connections: number;
              messages_published: number;
              messages_delivered: number;
              pushes_sent: number;
            }[]
          ).map(
            (d) =>
              `${d.day}\t${d.peak_connections}\t${d.messages_published}\t${d.messages_delivered}\t${d.pushes_sent}\n`,
          ),
        )
        .join(''),
    );
  }
  throw new UsageError(`unknown command: ${group}`);
}

function secretText(b: Record<string, unknown>): string {
  const record = b['record'] as { id: string; scopes: string[] };
  return `secret id: ${record.id}\nscopes:    ${record.scopes.join(',')}\nsecret:    ${String(b['secret'])}\n(the secret is shown once: store it now)\n`;
}
