/** Defaults every process shares (a module without dependencies: the CLI's start-up loads it). */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_PREFIX = 'fleet';
