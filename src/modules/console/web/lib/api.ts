/**
 * The console's API client: every call carries the signed-in key (or the admin token) as a
 * header, never in the URL; errors keep the API's `{code, message, details}` so forms can show
 * each field's message beside it. Pure: the fetch function and the credentials are passed in.
 */

export interface Credentials {
  apiKey: string;
  /** The key's project, from `GET /console/session` at sign-in. */
  projectId: number;
  prefix?: string;
  scopes?: string[];
  adminToken?: string;
}

/** The answer of `GET /console/session`. */
export interface SessionInfo {
  project_id: number;
  prefix: string;
  scopes: string[];
}

export function parseSession(body: unknown): SessionInfo | null {
  const b = body as Partial<SessionInfo> | null;
  if (!b || typeof b !== 'object') return null;
  if (!Number.isInteger(b.project_id) || (b.project_id as number) < 1 || typeof b.prefix !== 'string') return null;
  if (!Array.isArray(b.scopes) || !b.scopes.every((s) => typeof s === 'string')) return null;
  return { project_id: b.project_id as number, prefix: b.prefix, scopes: b.scopes };
}

export interface FieldProblem {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    readonly requestId: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** 401 and 403: the credentials are missing, wrong, revoked or lack a scope. */
  get isAuth(): boolean {
    return this.status === 401 || this.status === 403;
  }

  /**
   * The field problems of a 422 (a list naming fields), or of a 400 whose details name one
   * field (`{field}`: the message is then the error's own).
   */
  get problems(): FieldProblem[] {
    return problemsOf(this.details, this.message);
  }
}

export function problemsOf(details: unknown, message = ''): FieldProblem[] {
  if (details && typeof details === 'object' && !Array.isArray(details)) {
    const d = details as { field?: unknown; message?: unknown };
    if (typeof d.field !== 'string') return [];
    const text = typeof d.message === 'string' ? d.message : message;
    return text ? [{ field: d.field, message: text }] : [];
  }
  if (!Array.isArray(details)) return [];
  return details.filter(
    (d): d is FieldProblem => typeof d === 'object' && d !== null && typeof (d as FieldProblem).field === 'string' && typeof (d as FieldProblem).message === 'string',
  );
}

/**
 * Field name → its messages joined, for the fields a form shows. A nested problem
 * (`recurrence.timezone`, `matchers.tags[0]`) goes to the most specific field the form has: the
 * whole path, then its last segment, then its first. Problems naming no field of the form go
 * under `''`, shown above the buttons.
 */
export function fieldErrors(err: unknown, fields: readonly string[]): Record<string, string> {
  if (!(err instanceof ApiError)) return err ? { '': err instanceof Error ? err.message : String(err) } : {};
  const out: Record<string, string> = {};
  const add = (key: string, message: string) => (out[key] = out[key] ? `${out[key]}; ${message}` : message);
  const problems = err.problems;
  for (const p of problems) {
    const segments = p.field.split('.').map((s) => s.replace(/\[\d*\]$/, ''));
    const target = [p.field, segments[segments.length - 1], segments[0]].find((f) => fields.includes(f));
    add(target ?? '', p.message);
  }
  if (problems.length === 0) add('', err.message);
  return out;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

/** `path?query`, leaving out empty values; values are encoded. */
export function buildUrl(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Send the admin token instead of the key (orgs, projects, keys). */
  admin?: boolean;
  signal?: AbortSignal;
}

type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

export class ApiClient {
  constructor(
    private readonly credentials: () => Credentials | null,
    private readonly fetchFn: FetchFn = (input, init) => fetch(input, init),
    /** Told of every 401/403, so the app can return to sign-in with the API's message. */
    private readonly onAuthFailure: (err: ApiError) => void = () => undefined,
    private readonly baseUrl = '',
  ) {}

  get projectId(): number {
    const c = this.credentials();
    if (!c) throw new ApiError(401, 'CONSOLE.SIGNED_OUT', 'signed out');
    return c.projectId;
  }

  /** `/projects/{id}` + rest, for the signed-in project. */
  project(rest: string): string {
    return `/projects/${this.projectId}${rest}`;
  }

  headers(admin = false): Record<string, string> {
    const c = this.credentials();
    const h: Record<string, string> = { Accept: 'application/json' };
    if (admin) {
      if (c?.adminToken) h['X-Admin-Token'] = c.adminToken;
    } else if (c) {
      h['X-API-Key'] = c.apiKey;
    }
    return h;
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<{ body: T; headers: Headers }> {
    const headers = this.headers(opts.admin);
    const init: RequestInit = { method, headers, signal: opts.signal, cache: 'no-store', credentials: 'omit' };
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    let res: Response;
    try {
      res = await this.fetchFn(this.baseUrl + buildUrl(path, opts.query), init);
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err;
      throw new ApiError(0, 'CONSOLE.NETWORK', `cannot reach the API: ${(err as Error)?.message ?? err}`);
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!res.ok) {
      const err = toApiError(res.status, parsed, res.headers.get('x-request-id'));
      if (err.isAuth) this.onAuthFailure(err);
      throw err;
    }
    return { body: parsed as T, headers: res.headers };
  }

  async get<T>(path: string, query?: Query, opts: Omit<RequestOptions, 'query'> = {}): Promise<T> {
    return (await this.request<T>('GET', path, { ...opts, query })).body;
  }

  /** One page of a list; the cursor of the next comes from `X-Next-Cursor`. */
  async page<T>(path: string, query: Query = {}, opts: Omit<RequestOptions, 'query'> = {}): Promise<Page<T>> {
    const { body, headers } = await this.request<T[]>('GET', path, { ...opts, query });
    return { items: Array.isArray(body) ? body : [], nextCursor: headers.get('x-next-cursor') };
  }

  /**
   * Every page of a list, in order, calling `onPage` with the items so far after each (so a
   * long list renders as it arrives). Stops at `max` items.
   */
  async all<T>(path: string, query: Query = {}, onPage?: (soFar: T[]) => void, max = Infinity, opts: Omit<RequestOptions, 'query'> & { firstLimit?: number } = {}): Promise<T[]> {
    const { firstLimit, ...rest } = opts;
    let items: T[] = [];
    let cursor: string | null = null;
    do {
      // A small first page puts the first screenful up sooner; the rest come in large pages.
      const limit = items.length === 0 && firstLimit ? firstLimit : query.limit;
      const page: Page<T> = await this.page<T>(path, { ...query, limit, cursor }, rest);
      items = items.concat(page.items);
      cursor = page.nextCursor;
      onPage?.(items);
    } while (cursor && items.length < max);
    return items;
  }

  post<T>(path: string, body: unknown = {}, admin = false): Promise<T> {
    return this.request<T>('POST', path, { body, admin }).then((r) => r.body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body }).then((r) => r.body);
  }

  delete(path: string, admin = false): Promise<unknown> {
    return this.request<unknown>('DELETE', path, { admin }).then((r) => r.body);
  }
}

/** The API's error body to an ApiError; anything else (a proxy's page) keeps its status. */
export function toApiError(status: number, body: unknown, requestId: string | null = null): ApiError {
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown }; request_id?: unknown } | null)?.error;
  if (e && typeof e.message === 'string') {
    const rid = typeof (body as { request_id?: unknown }).request_id === 'string' ? ((body as { request_id: string }).request_id) : requestId;
    return new ApiError(status, typeof e.code === 'string' ? e.code : `HTTP.${status}`, e.message, e.details ?? null, rid);
  }
  return new ApiError(status, `HTTP.${status}`, `HTTP ${status}${typeof body === 'string' && body ? `: ${body.slice(0, 200)}` : ''}`, null, requestId);
}
