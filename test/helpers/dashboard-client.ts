import type { FastifyInstance } from 'fastify';
import type { Fleet } from '../../src/app/open-fleet.js';
import { createDashboardServer, type DashboardOptions } from '../../src/dashboard/server.js';

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
export const READONLY_TOKEN = 'readonly-token-0123456789abcdef';

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed JSON body (undefined when the body is not JSON). */
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON a route answers
  readonly json: any;
}

export interface Session {
  readonly cookie: string;
  readonly csrf: string;
}

export interface RequestOptions {
  readonly session?: Session;
  readonly body?: unknown;
  /** Raw body with its content type (uploads). */
  readonly raw?: { readonly type: string; readonly data: string };
  /** The Origin header: the dashboard's own by default on unsafe methods; `null` sends none. */
  readonly origin?: string | null;
  /** The CSRF header: the session's by default on unsafe methods; `null` sends none. */
  readonly csrf?: string | null;
}

/** A dashboard over real HTTP on 127.0.0.1 (an ephemeral port) and a tiny fetch client. */
export interface DashboardHarness {
  readonly app: FastifyInstance;
  readonly base: string;
  request(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  login(token?: string): Promise<Session>;
  close(): Promise<void>;
}

export async function startDashboard(
  fleet: Fleet,
  overrides: Partial<DashboardOptions> = {},
): Promise<DashboardHarness> {
  const app = await createDashboardServer(fleet, {
    tokens: [
      { name: 'admin', token: ADMIN_TOKEN, role: 'admin' },
      { name: 'read-only', token: READONLY_TOKEN, role: 'read-only' },
    ],
    ...overrides,
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const harness: DashboardHarness = {
    app,
    base,
    async request(method, path, options = {}) {
      const unsafe = method !== 'GET' && method !== 'HEAD';
      const headers: Record<string, string> = {};
      if (options.session) headers['cookie'] = options.session.cookie;
      const origin = options.origin === undefined ? (unsafe ? base : null) : options.origin;
      if (origin !== null) headers['origin'] = origin;
      const csrf = options.csrf === undefined ? (unsafe ? options.session?.csrf : undefined) : options.csrf;
      if (csrf !== null && csrf !== undefined) headers['x-csrf-token'] = csrf;
      let body: string | undefined;
      if (options.raw) {
        headers['content-type'] = options.raw.type;
        body = options.raw.data;
      } else if (options.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(options.body);
      }
      const response = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined && { body }) });
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, text, json };
    },
    async login(token = ADMIN_TOKEN) {
      const reply = await harness.request('POST', '/api/login', { body: { token } });
      if (reply.status !== 200) throw new Error(`login failed: ${reply.status} ${reply.text}`);
      const cookie = (reply.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      return { cookie, csrf: reply.json.csrfToken as string };
    },
    close: () => app.close(),
  };
  return harness;
}
