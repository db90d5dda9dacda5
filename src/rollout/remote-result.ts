import type { ErrorCode } from '../errors/index.js';
import { FleetError } from '../errors/index.js';

/** The JSON object an apply script prints as the last line of stdout (docs/remote-contract.md). */
export interface RemoteResult {
  readonly status: 'applied' | 'already-applied' | 'rolled-back';
  readonly officeVersion?: string;
  readonly backup?: string;
  readonly checksum?: string;
}

export interface RemoteRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** sysexits codes of the remote contract → our error codes. */
const EXIT_CODE_ERRORS: Readonly<Record<number, ErrorCode>> = {
  75: 'FR_ERR_REMOTE_TEMPORARY',
  65: 'FR_ERR_REMOTE_BAD_ARTIFACT',
  69: 'FR_ERR_REMOTE_UNAVAILABLE',
  77: 'FR_ERR_REMOTE_PERMISSION',
};

export const STDERR_TAIL_BYTES = 2048;

/** Last `max` characters of stderr, control characters other than newline/tab escaped. */
export function tailOf(text: string, max = STDERR_TAIL_BYTES): string {
  const tail = text.length > max ? text.slice(text.length - max) : text;
  return tail.replace(
    /[\u0000-\u0008\u000b-\u001f\u007f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

function lastJsonLine(stdout: string): Record<string, unknown> | undefined {
  const lines = stdout.split(/\r?\n/).filter((l) => l.trim() !== '');
  const last = lines.at(-1);
  if (last === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(last.trim());
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const optionalString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * Interpret one run of the apply command. Exit 0 with a valid JSON last line → the result;
 * anything else → a FleetError carrying exit code, remote message and stderr tail.
 */
export function interpretRemoteRun(run: RemoteRun, host: string): RemoteResult {
  const json = lastJsonLine(run.stdout);
  const stderrTail = tailOf(run.stderr);
  // The workstation is not trusted: its message is bounded and its control characters escaped like stderr.
  const rawMessage = optionalString(json?.['message']);
  const remoteMessage = rawMessage === undefined ? undefined : tailOf(rawMessage, 500);
  if (run.exitCode === 0) {
    const status = json?.['status'];
    if (status === 'applied' || status === 'already-applied' || status === 'rolled-back') {
      return {
        status,
        officeVersion: optionalString(json?.['officeVersion']),
        backup: optionalString(json?.['backup']),
        checksum: optionalString(json?.['checksum']),
      };
    }
    throw new FleetError('FR_ERR_REMOTE_PROTOCOL', undefined, { host, exitCode: 0, stderrTail });
  }
  const code = EXIT_CODE_ERRORS[run.exitCode] ?? 'FR_ERR_REMOTE_FAILED';
  const message = remoteMessage ? `${remoteMessage} (exit ${run.exitCode})` : undefined;
  throw new FleetError(code, message, { host, exitCode: run.exitCode, stderrTail });
}
