import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import type { Fleet } from '../app/open-fleet.js';
import type { FleetConfig } from '../config/resolve-config.js';
import type { ConnectionRole } from '../queue/connection.js';
import type { PipelineQueues } from '../queue/types.js';
import type { RecordStore } from '../store/types.js';

/*
 * Loaded by every command at start-up (`--help` included), so it imports types only: ioredis, the store and BullMQ
 * load when a command really opens Redis (withContext) or touches a queue.
 */

/** Options every command that talks to Redis shares (flag > environment > default: resolveConfig). */
export interface ConnectionFlags {
  readonly redisUrl?: string;
  readonly prefix?: string;
  readonly allowEviction: boolean;
  readonly logLevel?: string;
}

/** Adds --redis-url, --prefix and --allow-eviction to a command (defaults are resolved by resolveConfig). */
export function addConnectionOptions(command: Command): Command {
  return command
    .option('--redis-url <url>', 'Redis URL (env REDIS_URL; default redis://127.0.0.1:6379)')
    .option('--prefix <prefix>', 'key prefix of queues and records (env FLEET_PREFIX; default fleet)')
    .option('--allow-eviction', 'run even if Redis maxmemory-policy may evict keys (data loss risk)', false);
}

/** Reads the connection flags out of commander's parsed options. */
export function toConnectionFlags(options: Record<string, unknown>): ConnectionFlags {
  return {
    ...(typeof options['redisUrl'] === 'string' && { redisUrl: options['redisUrl'] }),
    ...(typeof options['prefix'] === 'string' && { prefix: options['prefix'] }),
    allowEviction: options['allowEviction'] === true,
  };
}

/** The resolved settings of this process: flags over the environment over the defaults (validated, frozen). */
export async function resolveCliConfig(flags: ConnectionFlags): Promise<FleetConfig> {
  const { resolveConfig } = await import('../config/resolve-config.js');
  return resolveConfig({ flags, env: process.env });
}

export interface CliContext {
  /** The application's one entrance: use cases, queries, events. */
  readonly fleet: Fleet;
  /** Read-side adapters for the printing code (status, report); no command changes state through them. */
  readonly redis: Redis;
  readonly store: RecordStore;
  readonly queues: PipelineQueues;
  readonly config: FleetConfig;
  /** The clock of this process (use-cases take `now` as an argument). */
  now(): number;
}

export interface ContextOptions {
  /** `worker` keeps reconnecting forever (agents); `cli` fails fast. Default `cli`. */
  readonly role?: ConnectionRole;
  readonly onError?: (error: Error) => void;
  readonly warn?: (message: string) => void;
}

/** Opens the fleet (openFleet), runs `fn`, and always closes it. */
export async function withContext<T>(
  flags: ConnectionFlags,
  fn: (context: CliContext) => Promise<T>,
  options: ContextOptions = {},
): Promise<T> {
  const [config, { openFleet }] = await Promise.all([resolveCliConfig(flags), import('../app/open-fleet.js')]);
  const fleet = await openFleet(config, options);
  try {
    const { redis, store, queues } = fleet.internals;
    return await fn({ fleet, redis, store, queues, config, now: () => Date.now() });
  } finally {
    await fleet.close();
  }
}

/** Writes to stdout, waiting for the pipe to drain (reports of 100k rows stay in constant memory). */
export async function writeOut(text: string): Promise<void> {
  if (process.stdout.write(text)) return;
  await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()));
}

export function writeJson(value: unknown): Promise<void> {
  return writeOut(`${JSON.stringify(value, null, 2)}\n`);
}

/** Who acted, for the audit trail: the CLI's OS account (the dashboard names its token instead). */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}
