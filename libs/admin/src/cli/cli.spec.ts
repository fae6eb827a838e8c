import { runCli, type CliIo } from './cli.js';

interface Sent {
  method: string;
  url: string;
  auth: string | null;
  body: unknown;
}

function io(
  answers: unknown[] = [{}],
  env: Record<string, string> = {},
): CliIo & { sent: Sent[]; stdout: string; stderr: string } {
  const sent: Sent[] = [];
  const state = { stdout: '', stderr: '' };
  const fake: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    sent.push({
      method: init?.method ?? 'GET',
      url: String(input),
      auth: headers.get('authorization'),
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
    });
    const answer = answers.shift() ?? {};
    const status = typeof answer === 'object' && answer !== null && 'error' in answer ? 404 : 200;
    return new Response(JSON.stringify(answer), { status });
  };
  return {
    env,
    fetch: fake,
    out: (t) => void (state.stdout += t),
    err: (t) => void (state.stderr += t),
    readFile: () => undefined,
    sent,
    get stdout() {
      return state.stdout;
    },
    get stderr() {
      return state.stderr;
    },
  };
}

describe('herald CLI', () => {
  it('sends the admin token from the environment and maps commands to admin routes', async () => {
    const x = io([{ secret: 's3cret', record: { id: 'sec_1', scopes: ['publish'] } }], {
      HERALD_ADMIN_TOKEN: 'tok',
      HERALD_URL: 'http://h:1/',
    });
    expect(await runCli(['keys', 'rotate', '--app', 'acme', '--secret', 'sec_0', '--grace', '60'], x)).toBe(
      0,
    );
    expect(x.sent).toEqual([
      {
        method: 'POST',
        url: 'http://h:1/v1/admin/apps/acme/secrets/sec_0/rotate',
        auth: 'Bearer tok',
        body: { grace_seconds: 60 },
      },
    ]);
    expect(x.stdout).toContain('secret:    s3cret');
  });

  it('prefers --url and --admin-token, and creates client keys with --client', async () => {
    const x = io([{ key: 'hk_1' }], { HERALD_ADMIN_TOKEN: 'env' });
    expect(
      await runCli(
        ['keys', 'create', '--app', 'a', '--client', '--url', 'http://x:2', '--admin-token', 'flag'],
        x,
      ),
    ).toBe(0);
    expect(x.sent[0]).toMatchObject({ url: 'http://x:2/v1/admin/apps/a/keys', auth: 'Bearer flag' });
    expect(x.stdout).toBe('client key: hk_1\n');
  });

  it('reads the development token file when nothing else is given', async () => {
    const x = io([{ apps: [] }], { HERALD_DATA_DIR: '/d' });
    x.readFile = (path) => (path === '/d/admin-token' ? 'from-file\n' : undefined);
    expect(await runCli(['apps', 'list'], x)).toBe(0);
    expect(x.sent[0].auth).toBe('Bearer from-file');
  });

  it.each([
    [['apps', 'delete', 'acme'], /add --yes/],
    [['token', '--app', 'acme'], /--user is required/],
    [['keys', 'revoke', '--app', 'acme'], /--secret SECRET_ID or --client KEY/],
    [['apps', 'create', '--bogus'], /Unknown option/],
    [['keys', 'rotate', '--app', 'a', '--secret', 's', '--grace', 'soon'], /whole number/],
    [['frobnicate'], /unknown command/],
  ])('refuses %j with usage (exit 2)', async (argv, message) => {
    const x = io([], { HERALD_ADMIN_TOKEN: 't' });
    expect(await runCli(argv, x)).toBe(2);
    expect(x.stderr).toMatch(message);
    expect(x.sent).toEqual([]);
  });

  it('reports API errors by name with exit 1, and a missing token plainly', async () => {
    const x = io([{ error: { name: 'unknown_app', message: 'no app' } }], { HERALD_ADMIN_TOKEN: 't' });
    expect(await runCli(['apps', 'show', 'nope'], x)).toBe(1);
    expect(x.stderr).toBe('herald: unknown_app: no app\n');
    const y = io([], {});
    expect(await runCli(['apps', 'list'], y)).toBe(1);
    expect(y.stderr).toMatch(/no admin token/);
  });
});
