import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import type { ConnectionRole } from '../queue/connection.js';
import type { PipelineQueues } from '../queue/types.js';
import type { RecordStore } from '../store/types.js';

/*
 * Loaded by every command at start-up (`--help` included), so it imports types only: ioredis, the store and BullMQ
 * load when a command really opens Redis (withContext) or touches a queue.
 */

/** Options every command that talks to Redis shares (flag > environment > default). */
export interface ConnectionFlags {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly allowEviction: boolean;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_PREFIX = 'fleet';

/** Adds --redis-url, --prefix and --allow-eviction to a command. */
export function addConnectionOptions(command: Command): Command {
  return command
    .option('--redis-url <url>', 'Redis URL (env REDIS_URL)', process.env['REDIS_URL'] ?? DEFAULT_REDIS_URL)
    .option(
      '--prefix <prefix>',
      'key prefix of queues and records (env FLEET_PREFIX)',
      process.env['FLEET_PREFIX'] ?? DEFAULT_PREFIX,
    )
    .option('--allow-eviction', 'run even if Redis maxmemory-policy may evict keys (data loss risk)', false);
}

/** Reads the connection flags out of commander's parsed options. */
export function toConnectionFlags(options: Record<string, unknown>): ConnectionFlags {
  return {
    redisUrl: String(options['redisUrl'] ?? process.env['REDIS_URL'] ?? DEFAULT_REDIS_URL),
    prefix: String(options['prefix'] ?? process.env['FLEET_PREFIX'] ?? DEFAULT_PREFIX),
    allowEviction: options['allowEviction'] === true,
  };
}

export interface CliContext {
  readonly redis: Redis;
  readonly store: RecordStore;
  readonly queues: PipelineQueues;
  readonly flags: ConnectionFlags;
  /** The clock of this process (use-cases take `now` as an argument). */
  now(): number;
}

export interface ContextOptions {
  /** `worker` keeps reconnecting forever (agents); `cli` fails fast. Default `cli`. */
  readonly role?: ConnectionRole;
  readonly onError?: (error: Error) => void;
  readonly warn?: (message: string) => void;
}

/**
 * Opens Redis, refuses an evicting Redis, builds the store and the queues, runs `fn`, and always closes them.
 */
export async function withContext<T>(
  flags: ConnectionFlags,
  fn: (context: CliContext) => Promise<T>,
  options: ContextOptions = {},
): Promise<T> {
  const [{ assertEvictionPolicy, createRedisConnection }, { createRecordStore }] = await Promise.all([
    import('../queue/connection.js'),
    import('../store/record-store.js'),
  ]);
  const redis = await createRedisConnection(flags.redisUrl, {
    role: options.role ?? 'cli',
    ...(options.onError && { onError: options.onError }),
    ...(options.warn && { onWaiting: options.warn }),
  });
  let queues: PipelineQueues | undefined;
  try {
    await assertEvictionPolicy(redis, {
      allowEviction: flags.allowEviction,
      ...(options.warn && { warn: options.warn }),
    });
    const store = createRecordStore(redis, flags.prefix);
    queues = createLazyQueues(redis, flags.prefix);
    return await fn({ redis, store, queues, flags, now: () => Date.now() });
  } finally {
    await queues?.close().catch(() => undefined);
    await redis.quit().catch(() => redis.disconnect());
  }
}

/**
 * BullMQ costs ≈ 0.4 s of start-up CPU: load it only when a command really touches a queue (`campaigns`,
 * `report` and `user` never do, nor do the commands that share this module graph without Redis).
 */
function createLazyQueues(redis: Redis, prefix: string): PipelineQueues {
  let loaded: Promise<PipelineQueues> | undefined;
  const load = (): Promise<PipelineQueues> => {
    loaded ??= import('../queue/pipeline-queues.js').then((module) => module.createPipelineQueues(redis, prefix));
    return loaded;
  };
  return {
    enqueueGenerate: async (campaign, users) => (await load()).enqueueGenerate(campaign, users),
    enqueueDeploy: async (campaign, users, mode) => (await load()).enqueueDeploy(campaign, users, mode),
    pause: async (campaign) => (await load()).pause(campaign),
    resume: async (campaign) => (await load()).resume(campaign),
    drain: async (campaign) => (await load()).drain(campaign),
    jobCounts: async (campaign) => (await load()).jobCounts(campaign),
    close: async () => {
      if (loaded) await (await loaded).close();
    },
  };
}

/** Writes to stdout, waiting for the pipe to drain (reports of 100k rows stay in constant memory). */
export async function writeOut(text: string): Promise<void> {
  if (process.stdout.write(text)) return;
  await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()));
}

export function writeJson(value: unknown): Promise<void> {
  return writeOut(`${JSON.stringify(value, null, 2)}\n`);
}
