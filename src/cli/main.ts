#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { coerceError } from '../errors/index.js';
import { toRedisFleetError } from '../queue/redis-errors.js';
import { registerCommands } from './commands/index.js';

/**
 * The only place where an error becomes an exit code (documented in README "Exit codes"):
 * 0 ok · 1 nothing could be done (one-line reason, no stack trace) · 2 partial (rejected rows, failed users, lint errors).
 */
async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name('fleet-rollout')
    .description(
      'Mass Outlook profile migration to RPC over HTTP: CSV intake, offline PRF generation, SSH push and apply.',
    )
    .version(readPackageVersion(), '-V, --version', 'print the version of fleet-rollout')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerCommands(program);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 1;
    }
    // A Redis error in the middle of a command names Redis (it is not a bug of ours).
    const fleetError = toRedisFleetError(error) ?? coerceError(error);
    const where = fleetError.details['file'] ? ` (${String(fleetError.details['file'])})` : '';
    process.stderr.write(`fleet-rollout: ${fleetError.code}: ${fleetError.message}${where}\n`);
    if (fleetError.code === 'FR_ERR_INTERNAL' && process.env['FLEET_DEBUG'] && error instanceof Error) {
      process.stderr.write(`${error.stack ?? ''}\n`);
    }
    return fleetError.exitCode;
  }
}

/** package.json sits two folders up from both src/cli/main.ts and dist/cli/main.js. */
function readPackageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return String((JSON.parse(text) as { version?: unknown }).version ?? 'unknown');
}

/**
 * `fleet-rollout report x | head`: once the reader is gone, stop quietly as Unix tools do (no EPIPE stack trace).
 * Exit status 0: what was asked for was read; the rest was not wanted.
 */
function stopQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') process.exit(0);
    throw error;
  });
}
stopQuietlyOnClosedPipe(process.stdout);
stopQuietlyOnClosedPipe(process.stderr);

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`fleet-rollout: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
