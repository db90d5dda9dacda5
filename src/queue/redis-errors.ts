import { FleetError } from '../errors/index.js';

/**
 * ioredis errors → FleetErrors that name Redis (never `FR_ERR_INTERNAL … this is a bug`). Recognised by name and
 * message only, so the CLI's error path can use it without loading ioredis.
 */
const AUTH_RE = /^(WRONGPASS|NOAUTH)|invalid (username-)?password|AUTH failed/i;

export function isRedisAuthError(error: unknown): boolean {
  return error instanceof Error && AUTH_RE.test(error.message);
}

/** A FleetError when `error` comes from Redis or the Redis connection; undefined otherwise. */
export function toRedisFleetError(error: unknown): FleetError | undefined {
  if (!(error instanceof Error) || error instanceof FleetError) return undefined;
  const message = error.message.split('\n')[0] ?? '';
  if (isRedisAuthError(error)) {
    return new FleetError('FR_ERR_REDIS_AUTH_FAILED', `Redis authentication failed: ${message}`, {}, { cause: error });
  }
  if (error.name === 'ReplyError') {
    const hint = /^READONLY/.test(message)
      ? ' (the node became a replica: a failover is under way; retry in a few seconds)'
      : /^NOPERM/.test(message)
        ? ' (the Redis ACL user lacks a permission: see docs/security.md for the rules it needs)'
        : /^OOM/.test(message)
          ? ' (Redis is out of memory: raise maxmemory; with noeviction it refuses writes instead of losing data)'
          : '';
    return new FleetError(
      'FR_ERR_REDIS_COMMAND_FAILED',
      `Redis refused a command: ${message}${hint}`,
      {},
      { cause: error },
    );
  }
  if (
    error.name === 'MaxRetriesPerRequestError' ||
    /^(Connection is closed|Stream isn't writeable|Reached the max retries per request limit)/.test(message) ||
    /All sentinels are unreachable|None of the sentinels are available/.test(message)
  ) {
    return new FleetError(
      'FR_ERR_REDIS_UNREACHABLE',
      `the connection to Redis was lost in the middle of a command (${message})`,
      {},
      { cause: error },
    );
  }
  return undefined;
}
