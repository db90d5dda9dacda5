import { z } from 'zod';
import { FleetError } from '../errors/index.js';
import { DEFAULT_PREFIX, DEFAULT_REDIS_URL } from './defaults.js';

/**
 * Every process-wide setting in one place (pure: flags, environment and file are passed in). Precedence:
 * flag > environment > file > default. Validated once and frozen; nothing else reads process.env for these.
 */
export { DEFAULT_PREFIX, DEFAULT_REDIS_URL };
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const configSchema = z
  .object({
    redisUrl: z.string().min(1),
    prefix: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'use 1-32 letters, digits, _ or -'),
    allowEviction: z.boolean(),
    logLevel: z.enum(LOG_LEVELS),
    reportDir: z.string().min(1),
    /** Users written to Redis (and enqueued) per batch by imports and bulk actions. */
    batchSize: z.number().int().min(1).max(10_000),
    /** `campaign prune`: finished campaigns older than this many days are archived (no default: prune asks). */
    retentionDays: z.coerce.number().int().min(1).max(36_500).optional(),
  })
  .strict();

export type FleetConfig = Readonly<z.infer<typeof configSchema>>;

const DEFAULTS: FleetConfig = {
  redisUrl: DEFAULT_REDIS_URL,
  prefix: DEFAULT_PREFIX,
  allowEviction: false,
  logLevel: 'info',
  reportDir: 'reports',
  batchSize: 1_000,
};

/** Environment variable → setting. */
const ENV: ReadonlyArray<readonly [string, keyof FleetConfig]> = [
  ['REDIS_URL', 'redisUrl'],
  ['FLEET_PREFIX', 'prefix'],
  ['LOG_LEVEL', 'logLevel'],
  ['FLEET_REPORT_DIR', 'reportDir'],
  ['FLEET_RETENTION_DAYS', 'retentionDays'],
];

export interface ConfigSources {
  readonly flags?: Partial<Record<keyof FleetConfig, unknown>>;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly file?: Partial<Record<keyof FleetConfig, unknown>>;
}

export function resolveConfig(sources: ConfigSources = {}): FleetConfig {
  const fromEnv: Record<string, unknown> = {};
  for (const [name, key] of ENV) {
    const value = sources.env?.[name];
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  const merged = { ...DEFAULTS, ...defined(sources.file), ...fromEnv, ...defined(sources.flags) };
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') ?? 'config';
    throw new FleetError('FR_ERR_CONFIG_INVALID', `${where}: ${issue?.message ?? 'invalid'}`);
  }
  return Object.freeze(parsed.data);
}

function defined(values: Partial<Record<string, unknown>> | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values ?? {}).filter(([, value]) => value !== undefined));
}
