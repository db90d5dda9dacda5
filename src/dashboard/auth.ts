import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { FleetError } from '../errors/index.js';

/**
 * A token the dashboard accepts: its name is what the audit trail records as "who" (the token never is). A
 * `metrics` token only reaches the routes marked `scrape` (/metrics), as a bearer token: it opens no session.
 */
export interface DashboardToken {
  readonly name: string;
  readonly token: string;
  readonly role: 'admin' | 'read-only' | 'metrics';
}

export interface Session {
  readonly who: string;
  readonly role: DashboardToken['role'];
  readonly csrfToken: string;
  readonly expiresAt: number;
}

export const SESSION_COOKIE = 'fr_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyRequest {
    session?: Session;
  }
  interface FastifyContextConfig {
    /** Reachable without a session (health, login, the static login page). */
    readonly public?: boolean;
    /** Changes state: the read-only token is refused. */
    readonly act?: boolean;
    /** A scrape target (/metrics): the metrics token may read it, as may every other token. */
    readonly scrape?: boolean;
  }
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Compares a candidate with every token in constant time (digests of equal length; no early exit). */
export function matchToken(tokens: readonly DashboardToken[], candidate: string): DashboardToken | undefined {
  const wanted = digest(candidate);
  let found: DashboardToken | undefined;
  for (const token of tokens) {
    if (timingSafeEqual(digest(token.token), wanted) && found === undefined) found = token;
  }
  return found;
}

/** Server-side sessions in this process's memory (a restart logs everyone out), expiring after `ttlMs`. */
export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(ttlMs: number, now: () => number) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  create(token: DashboardToken): { id: string; session: Session } {
    this.sweep();
    const id = randomBytes(32).toString('base64url');
    const session: Session = {
      who: token.name,
      role: token.role,
      csrfToken: randomBytes(32).toString('base64url'),
      expiresAt: this.#now() + this.#ttlMs,
    };
    this.#sessions.set(id, session);
    return { id, session };
  }

  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const session = this.#sessions.get(id);
    if (session && session.expiresAt <= this.#now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return session;
  }

  delete(id: string | undefined): void {
    if (id !== undefined) this.#sessions.delete(id);
  }

  sweep(): void {
    const now = this.#now();
    for (const [id, session] of this.#sessions) if (session.expiresAt <= now) this.#sessions.delete(id);
  }
}

export interface AuthOptions {
  readonly tokens: readonly DashboardToken[];
  readonly sessions: SessionStore;
  readonly ttlMs: number;
  readonly loginRateLimit: { readonly max: number; readonly timeWindowMs: number };
  /** Further origins allowed to send state-changing requests (e.g. the public URL behind a reverse proxy). */
  readonly origins: readonly string[];
}

const sameToken = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(digest(a), digest(b));

/** The origin (scheme://host[:port]) a request claims to come from: Origin, else Referer. */
function claimedOrigin(request: FastifyRequest): string | undefined {
  const raw = request.headers.origin ?? request.headers.referer;
  if (typeof raw !== 'string' || raw === '' || raw === 'null') return undefined;
  try {
    return new URL(raw).origin;
  } catch {
    return undefined;
  }
}

function isOwnOrigin(request: FastifyRequest, origins: readonly string[]): boolean {
  const claimed = claimedOrigin(request);
  if (claimed === undefined) return false;
  if (origins.includes(claimed)) return true;
  return claimed === `${request.protocol}://${request.host}`;
}

/**
 * Every route needs a session unless it says `public`; every state-changing request must come from the
 * dashboard's own origin and carry the session's CSRF token (header `x-csrf-token`); routes marked `act` refuse
 * the read-only token. Order of the checks: session (401), origin and CSRF (403), role (403).
 */
export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    const unsafe = !SAFE_METHODS.has(request.method);
    // Before the session, so a login from a foreign page is refused too.
    if (unsafe && !isOwnOrigin(request, options.origins)) {
      throw new FleetError('FR_ERR_DASHBOARD_CSRF', 'state-changing requests must come from the dashboard itself');
    }
    if (config.public === true) return;
    const session =
      options.sessions.get(request.cookies[SESSION_COOKIE]) ??
      (unsafe ? undefined : bearerSession(request, options.tokens));
    if (!session) throw new FleetError('FR_ERR_DASHBOARD_UNAUTHENTICATED');
    if (session.role === 'metrics' && config.scrape !== true) throw new FleetError('FR_ERR_DASHBOARD_FORBIDDEN');
    request.session = session;
    if (unsafe) {
      const sent = request.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !sameToken(sent, session.csrfToken)) {
        throw new FleetError('FR_ERR_DASHBOARD_CSRF', 'missing or wrong x-csrf-token header');
      }
      if (config.act === true && session.role !== 'admin') {
        throw new FleetError('FR_ERR_DASHBOARD_FORBIDDEN');
      }
    }
  });

  const loginBody = z.object({ token: z.string().min(1).max(4096) }).strict();
  app.post(
    '/api/login',
    {
      config: {
        public: true,
        rateLimit: { max: options.loginRateLimit.max, timeWindow: options.loginRateLimit.timeWindowMs },
      },
    },
    async (request, reply) => {
      const parsed = loginBody.safeParse(request.body);
      const matched = parsed.success ? matchToken(options.tokens, parsed.data.token) : undefined;
      // The metrics token is for a scraper's Authorization header only: it opens no browser session.
      const token = matched?.role === 'metrics' ? undefined : matched;
      if (!token) throw new FleetError('FR_ERR_DASHBOARD_UNAUTHENTICATED', 'unknown token');
      options.sessions.delete(request.cookies[SESSION_COOKIE]);
      const { id, session } = options.sessions.create(token);
      setSessionCookie(request, reply, id, Math.floor(options.ttlMs / 1000));
      return describeSession(session);
    },
  );
  app.post('/api/logout', async (request, reply) => {
    options.sessions.delete(request.cookies[SESSION_COOKIE]);
    setSessionCookie(request, reply, '', 0);
    return { loggedOut: true };
  });
  app.get('/api/session', async (request) => describeSession(requireSession(request)));
}

/**
 * `Authorization: Bearer <token>` on a safe method (a scraper, a script): a session for this request only. Never on
 * a state-changing one: those need the browser session and its CSRF token.
 */
function bearerSession(request: FastifyRequest, tokens: readonly DashboardToken[]): Session | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S{1,4096})\s*$/i.exec(header);
  const token = match?.[1] === undefined ? undefined : matchToken(tokens, match[1]);
  return token && { who: token.name, role: token.role, csrfToken: '', expiresAt: Date.now() };
}

export function requireSession(request: FastifyRequest): Session {
  if (!request.session) throw new FleetError('FR_ERR_DASHBOARD_UNAUTHENTICATED');
  return request.session;
}

function describeSession(session: Session) {
  return {
    who: session.who,
    role: session.role,
    csrfToken: session.csrfToken,
    expiresAt: new Date(session.expiresAt).toISOString(),
  };
}

function setSessionCookie(request: FastifyRequest, reply: FastifyReply, value: string, maxAge: number): void {
  reply.setCookie(SESSION_COOKIE, value, {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    // Behind a TLS-terminating proxy (trustProxy), X-Forwarded-Proto makes this https.
    secure: request.protocol === 'https',
    maxAge,
  });
}
