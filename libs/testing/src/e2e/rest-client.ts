/**
 * The tenant backend's side of the REST API v1, over global fetch: `call` returns status, headers
 * and parsed body whatever the status (for error-path tests); the typed helpers throw a RestError
 * on anything but 2xx (for tests that only need the call to succeed).
 */
export interface RestResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RestErrorBody {
  error: { code: number; name: string; message: string; details?: Record<string, unknown> };
}

export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`REST ${status}: ${JSON.stringify(body).slice(0, 300)}`);
    this.name = 'RestError';
  }
  get code(): number | undefined {
    return isErrorBody(this.body) ? this.body.error.code : undefined;
  }
}

export function isErrorBody(body: unknown): body is RestErrorBody {
  if (body === null || typeof body !== 'object' || !('error' in body)) return false;
  const e = (body as { error: unknown }).error;
  return e !== null && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'number';
}

export interface CallOptions {
  body?: unknown;
  /** Sent as is (for malformed or oversized bodies); overrides `body`. */
  rawBody?: string;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  /** Bearer secret; `null` sends no Authorization header. Default: the app's secret. */
  secret?: string | null;
}

export class RestClient {
  constructor(
    readonly baseUrl: string,
    readonly appId: string,
    readonly secret: string,
  ) {}

  /** `path` is relative to `/v1/apps/{app}` (e.g. `/publish`); absolute paths start with `//`. */
  async call<T = unknown>(method: string, path: string, opts: CallOptions = {}): Promise<RestResponse<T>> {
    const url = new URL(
      path.startsWith('//') ? path.slice(1) : `/v1/apps/${encodeURIComponent(this.appId)}${path}`,
      this.baseUrl,
    );
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { ...opts.headers };
    const secret = opts.secret === undefined ? this.secret : opts.secret;
    if (secret !== null) headers['authorization'] = `Bearer ${secret}`;
    let body: string | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(url, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  /** Like `call`, but throws a RestError unless the status is 2xx. */
  async ok<T = unknown>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
    const res = await this.call<T>(method, path, opts);
    if (res.status < 200 || res.status >= 300) throw new RestError(res.status, res.body);
    return res.body;
  }

  publish(
    channel: string,
    data: unknown,
    opts: { idempotencyKey?: string } = {},
  ): Promise<{ offset?: number; epoch?: string }> {
    const body: Record<string, unknown> = { channel, data };
    if (opts.idempotencyKey !== undefined) body['idempotency_key'] = opts.idempotencyKey;
    return this.ok('POST', '/publish', { body });
  }

  publishToUser(user: string, data: unknown): Promise<{ offset?: number; epoch?: string }> {
    return this.ok('POST', `/users/${encodeURIComponent(user)}/publish`, { body: { data } });
  }
}
