import { describeValue } from '../csv/text-rules.js';
import { FleetError } from '../errors/index.js';
import { effectiveExitCode, lastJsonLine, type RemoteRun, remoteFailure, tailOf } from './remote-result.js';

/**
 * `verified`: Outlook consumed the PRF (ImportPRF cleared or FirstRun recreated) and the profile holds the expected
 * proxy and flags. `pending`: still staged (Outlook has not started cleanly since). `not-taken`: the reason says why.
 */
export const VERIFY_STATUSES = ['verified', 'pending', 'not-taken'] as const;
export type VerifyStatus = (typeof VERIFY_STATUSES)[number];

export interface VerifyReport {
  readonly status: VerifyStatus;
  /** Escaped and bounded: safe to store and print. */
  readonly reason: string;
}

/** Interprets the apply script's `verify` answer (read-only mode); a non-zero exit is the usual remote failure. */
export function interpretVerifyRun(run: RemoteRun, host: string): VerifyReport {
  const json = lastJsonLine(run.stdout);
  const exitCode = effectiveExitCode(json, run.exitCode);
  if (exitCode !== 0) throw remoteFailure(exitCode, json, host, run.stderr);
  const status = json?.['status'];
  if (!VERIFY_STATUSES.includes(status as VerifyStatus)) {
    throw new FleetError('FR_ERR_REMOTE_PROTOCOL', 'the verify answer has no known status', {
      host,
      exitCode,
      stderrTail: tailOf(run.stderr),
    });
  }
  const reason = json?.['reason'];
  return { status: status as VerifyStatus, reason: typeof reason === 'string' ? describeValue(reason, 300) : '' };
}
