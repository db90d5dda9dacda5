import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Fleet } from '../app/open-fleet.js';
import { registerActionRoutes } from './action-routes.js';
import { type DashboardToken, registerAuth, SessionStore } from './auth.js';
import type { FleetMetricsOptions } from './fleet-metrics.js';
import { sendError } from './http-errors.js';
import { registerMetricsRoute } from './metrics-route.js';
import { registerPageRoutes } from './page-routes.js';
import { registerQueueBoard } from './queue-board.js';
import { registerReadRoutes } from './read-routes.js';
import { registerStaticRoutes } from './static-routes.js';
import { registerUploadRoute } from './upload-route.js';

export type { DashboardToken } from './auth.js';

export interface DashboardOptions {
  /** At least one admin token; read-only tokens may look but not act. */
  readonly tokens: readonly DashboardToken[];
  /** Session lifetime; 8 hours by default. */
  readonly sessionTtlMs?: number;
  /** Largest JSON body; 64 KiB by default. */
  readonly bodyLimit?: number;
  /** Largest CSV upload; 50 MiB by default. */
  readonly uploadLimit?: number;
  /** Login attempts per address and window; 10 a minute by default. */
  readonly loginRateLimit?: { readonly max: number; readonly timeWindowMs: number };
  /** Origins besides the dashboard's own allowed to send state-changing requests (a public URL behind a proxy). */
  readonly origins?: readonly string[];
  /** Behind a reverse proxy: trust X-Forwarded-For / -Proto (client address for the rate limit, https cookies). */
  readonly trustProxy?: boolean;
  /** Fastify's logger (pino options or false); request bodies, cookies and headers are never logged. */
  readonly logger?: boolean | Record<string, unknown>;
  readonly now?: () => number;
  /** /metrics tuning (queue-depth cache, campaign list refresh). */
  readonly metrics?: FleetMetricsOptions;
}

/**
 * The dashboard: HTTP over the Fleet facade (no business rule, no Redis key here). Every route but `/healthz`,
 * the login and the static login page needs a session; state-changing ones need the CSRF token and the
 * dashboard's own origin, and an admin session. Call `listen` on the answer (127.0.0.1 unless told otherwise).
 */
export async function createDashboardServer(fleet: Fleet, options: DashboardOptions): Promise<FastifyInstance> {
  if (!options.tokens.some((token) => token.role === 'admin' && token.token.length > 0)) {
    throw new Error('the dashboard needs an admin token');
  }
  const ttlMs = options.sessionTtlMs ?? 8 * 3_600_000;
  const now = options.now ?? Date.now;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    trustProxy: options.trustProxy ?? false,
  });
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).send({ error: { code: 'FR_ERR_USAGE', message: 'no such route' } }),
  );
  await app.register(cookie);
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    crossOriginEmbedderPolicy: true,
    referrerPolicy: { policy: 'same-origin' },
  });
  await app.register(rateLimit, { global: false });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
  const sessions = new SessionStore(ttlMs, now);
  const sweeper = setInterval(() => sessions.sweep(), 60_000);
  sweeper.unref();
  app.addHook('onClose', async () => clearInterval(sweeper));

  registerAuth(app, {
    tokens: options.tokens,
    sessions,
    ttlMs,
    loginRateLimit: options.loginRateLimit ?? { max: 10, timeWindowMs: 60_000 },
    origins: options.origins ?? [],
  });
  registerStaticRoutes(app);
  registerReadRoutes(app, fleet);
  registerActionRoutes(app, fleet);
  registerUploadRoute(app, fleet, options.uploadLimit ?? 50 * 1024 * 1024);
  registerMetricsRoute(app, fleet, options.metrics);
  await registerQueueBoard(app, fleet);
  registerPageRoutes(app, fleet);
  return app;
}

/** True for 127.0.0.0/8, ::1 and localhost: anything else is reachable from the network. */
export function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\.\d+\.\d+\.\d+$/.test(address);
}
