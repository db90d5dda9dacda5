import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Key names that may hold a secret wherever they appear (up to three levels deep). */
const SECRET_KEYS = ['key', 'privateKey', 'passphrase', 'password', 'token', 'secret', 'authorization'];

/** Redaction paths for every logger: top level, one and two levels down. */
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export interface LoggerOptions {
  readonly level?: string;
  readonly name?: string;
  /** Defaults to stdout; tests pass a stream to read what was logged. */
  readonly destination?: DestinationStream;
}

/** The one way to build a logger: JSON lines, secrets censored. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      name: options.name ?? 'fleet-rollout',
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** Context of one unit of work; only non-secret identifiers. */
export interface LogContext {
  readonly campaign?: string;
  readonly userKey?: string;
  readonly stage?: string;
  readonly host?: string;
  readonly jobId?: string;
}

export function createChildLogger(parent: Logger, context: LogContext): Logger {
  return parent.child(context);
}
