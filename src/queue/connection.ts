import { Redis } from 'ioredis';
import { FleetError } from '../errors/index.js';
import { isRedisAuthError } from './redis-errors.js';
import { type RedisSettings, resolveRedisSettings } from './redis-settings.js';

/**
 * Redis connections. Workers must survive a Redis restart (BullMQ needs `maxRetriesPerRequest: null` and
 * reconnects forever); the CLI must fail fast with one clear line instead of hanging.
 */
export type ConnectionRole = 'cli' | 'worker';

export interface ConnectionOptions {
  readonly role: ConnectionRole;
  /** Called on connection errors (workers log them); errors never go unhandled. */
  readonly onError?: (error: Error) => void;
  /** Workers: called every few seconds while Redis cannot be reached at start-up (default: a stderr line). */
  readonly onWaiting?: (message: string) => void;
  /** Overrides of the environment (tests); default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const WORKER_MAX_BACKOFF_MS = 5_000;
const CLI_CONNECT_TIMEOUT_MS = 3_000;
/** How often a waiting agent says it is still waiting. */
export const WAITING_LOG_INTERVAL_MS = 5_000;

/**
 * Opens a connection after checking the server once (authentication, database index in range, not a Cluster).
 * `cli`: resolves once connected or throws one clear FleetError; `worker`: waits for Redis as long as it takes
 * (saying so every few seconds), but a wrong password, db or a Cluster stops it at once.
 */
export async function createRedisConnection(url: string, options: ConnectionOptions): Promise<Redis> {
  const settings = resolveRedisSettings(url, options.env);
  if (options.role === 'worker') await waitForRedis(settings, options.onWaiting ?? defaultWaiting);
  else await checkRedis(settings);
  const redis = options.role === 'worker' ? createWorkerClient(settings) : createCliClient(settings);
  redis.on('error', (error: Error) => options.onError?.(error));
  if (options.role === 'worker') return redis;
  try {
    await redis.connect();
    return redis;
  } catch (error) {
    redis.disconnect();
    throw unreachable(settings, error);
  }
}

function defaultWaiting(message: string): void {
  process.stderr.write(`fleet-rollout: ${message}\n`);
}

function unreachable(settings: RedisSettings, error: unknown): FleetError {
  return new FleetError(
    'FR_ERR_REDIS_UNREACHABLE',
    `Redis cannot be reached at ${settings.where}: ${(error as Error).message} (set --redis-url or REDIS_URL)`,
    { url: settings.where },
    { cause: error },
  );
}

/** Permanent problems found by `checkRedis` (not worth waiting for). */
function isPermanent(error: unknown): boolean {
  return error instanceof FleetError && error.code !== 'FR_ERR_REDIS_UNREACHABLE';
}

async function waitForRedis(settings: RedisSettings, onWaiting: (message: string) => void): Promise<void> {
  const started = Date.now();
  let lastSaid = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      await checkRedis(settings);
      if (lastSaid > 0)
        onWaiting(`Redis at ${settings.where} answers after ${Math.round((Date.now() - started) / 1000)} s`);
      return;
    } catch (error) {
      if (isPermanent(error)) throw error;
      if (lastSaid === 0 || Date.now() - lastSaid >= WAITING_LOG_INTERVAL_MS) {
        lastSaid = Date.now();
        const cause = (error as FleetError).cause as Error | undefined;
        onWaiting(
          `waiting for Redis at ${settings.where} (${cause?.message ?? 'unreachable'}); ` +
            `${Math.round((Date.now() - started) / 1000)} s so far, retrying`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** Math.min(attempt, 4), 2_000)));
    }
  }
}

/**
 * One short-lived connection that checks what would otherwise go wrong silently: a wrong password ("authentication
 * failed", not "Connection is closed"), a database index out of range (ioredis would stay in db 0) and Redis
 * Cluster (not supported: refused with one line).
 */
async function checkRedis(settings: RedisSettings): Promise<void> {
  let authError: Error | undefined;
  let lastError: Error | undefined;
  const probe = new Redis({
    ...settings.options,
    db: 0,
    lazyConnect: true,
    connectTimeout: CLI_CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: true,
    retryStrategy: () => null,
    sentinelRetryStrategy: () => null,
    reconnectOnError: () => false,
  });
  let onAuthError: (error: Error) => void = () => {};
  // ioredis keeps the connect promise pending for a while after a refused AUTH: the error event decides at once.
  const authRefused = new Promise<never>((_resolve, reject) => {
    onAuthError = reject;
  });
  authRefused.catch(() => {});
  probe.on('error', (error: Error) => {
    lastError = error;
    if (isRedisAuthError(error)) {
      authError = error;
      onAuthError(error);
    }
  });
  try {
    try {
      await Promise.race([probe.connect().then(() => probe.ping()), authRefused]);
    } catch (error) {
      const cause = authError ?? error;
      if (isRedisAuthError(cause)) {
        throw new FleetError(
          'FR_ERR_REDIS_AUTH_FAILED',
          `Redis authentication failed at ${settings.where}: check the user name and password of REDIS_URL`,
          { url: settings.where },
          { cause },
        );
      }
      // ioredis rejects with "Connection is closed."; the socket's own error (ECONNREFUSED…) says more.
      throw unreachable(
        settings,
        /^Connection is closed/.test((cause as Error).message) && lastError ? lastError : cause,
      );
    }
    const cluster = String(await probe.info('cluster').catch(() => ''));
    if (/cluster_enabled:1/.test(cluster)) {
      throw new FleetError(
        'FR_ERR_REDIS_URL_INVALID',
        `Redis at ${settings.where} runs in Cluster mode, which fleet-rollout does not support ` +
          '(its scripts and queues are tested on one primary): use a single Redis, with Sentinel for failover',
        { url: settings.where },
      );
    }
    if (settings.db !== 0) {
      try {
        await probe.select(settings.db);
      } catch (error) {
        const count = await probe
          .call('CONFIG', 'GET', 'databases')
          .then((reply) => (reply as string[])[1])
          .catch(() => undefined);
        throw new FleetError(
          'FR_ERR_REDIS_URL_INVALID',
          `Redis at ${settings.where} has no database ${settings.db}` +
            `${count ? ` (it has ${count}: 0 to ${Number(count) - 1})` : ''}: ${(error as Error).message}`,
          { url: settings.where },
        );
      }
    }
  } finally {
    probe.disconnect();
  }
}

function createWorkerClient(settings: RedisSettings): Redis {
  return new Redis({
    ...settings.options,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    // Reconnect forever, backing off to a few seconds (a Redis restart must not kill agents).
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 10), WORKER_MAX_BACKOFF_MS),
  });
}

function createCliClient(settings: RedisSettings): Redis {
  return new Redis({
    ...settings.options,
    lazyConnect: true,
    connectTimeout: CLI_CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    // One quick retry, then give up so the command ends with a clear message.
    retryStrategy: (times) => (times > 1 ? null : 200),
  });
}

/** The URL without user name or password, safe for messages and logs. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const auth = parsed.username || parsed.password ? '***@' : '';
    return `${parsed.protocol}//${auth}${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return '<invalid Redis URL>';
  }
}

export interface EvictionCheck {
  readonly policy: string | undefined;
  readonly ok: boolean;
}

/**
 * Refuses a Redis that may evict keys: BullMQ job data and our records would vanish silently.
 * Where CONFIG is disabled (managed Redis), the policy cannot be read: warn and carry on.
 */
export async function assertEvictionPolicy(
  redis: Redis,
  options: { readonly allowEviction: boolean; readonly warn?: (message: string) => void },
): Promise<EvictionCheck> {
  const warn = options.warn ?? ((message: string) => process.stderr.write(`fleet-rollout: warning: ${message}\n`));
  let policy: string | undefined;
  try {
    const reply = (await redis.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
    policy = reply[1];
  } catch (error) {
    warn(`cannot read Redis maxmemory-policy (${(error as Error).message}); make sure it is noeviction`);
    return { policy: undefined, ok: false };
  }
  if (policy === undefined) {
    warn('Redis did not report its maxmemory-policy; make sure it is noeviction');
    return { policy, ok: false };
  }
  if (policy === 'noeviction') return { policy, ok: true };
  if (options.allowEviction) {
    warn(`Redis maxmemory-policy is ${policy}: jobs and records may be evicted (allowed by --allow-eviction)`);
    return { policy, ok: false };
  }
  throw new FleetError(
    'FR_ERR_REDIS_EVICTION_POLICY',
    `Redis maxmemory-policy is ${policy}: it would evict job data and records silently. ` +
      'Set `maxmemory-policy noeviction` (redis.conf or CONFIG SET), or pass --allow-eviction to accept the risk.',
    { policy },
  );
}
