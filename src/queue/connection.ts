import { Redis } from 'ioredis';
import { FleetError } from '../errors/index.js';

/**
 * Redis connections. Workers must survive a Redis restart (BullMQ needs `maxRetriesPerRequest: null` and
 * reconnects forever); the CLI must fail fast with one clear line instead of hanging.
 */
export type ConnectionRole = 'cli' | 'worker';

export interface ConnectionOptions {
  readonly role: ConnectionRole;
  /** Called on connection errors (workers log them); errors never go unhandled. */
  readonly onError?: (error: Error) => void;
}

const WORKER_MAX_BACKOFF_MS = 5_000;
const CLI_CONNECT_TIMEOUT_MS = 3_000;

/** Opens a connection. `cli`: resolves once connected or throws FR_ERR_REDIS_UNREACHABLE; `worker`: returns at once. */
export async function createRedisConnection(url: string, options: ConnectionOptions): Promise<Redis> {
  const redis = options.role === 'worker' ? createWorkerClient(url) : createCliClient(url);
  redis.on('error', (error: Error) => options.onError?.(error));
  if (options.role === 'worker') return redis;
  try {
    await redis.connect();
    return redis;
  } catch (error) {
    redis.disconnect();
    throw new FleetError(
      'FR_ERR_REDIS_UNREACHABLE',
      `Redis cannot be reached at ${redactRedisUrl(url)}: ${(error as Error).message} (set --redis-url or REDIS_URL)`,
      { url: redactRedisUrl(url) },
      { cause: error },
    );
  }
}

function createWorkerClient(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    // Reconnect forever, backing off to a few seconds (a Redis restart must not kill agents).
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 10), WORKER_MAX_BACKOFF_MS),
  });
}

function createCliClient(url: string): Redis {
  return new Redis(url, {
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
