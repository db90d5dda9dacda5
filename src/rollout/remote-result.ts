import { describeValue } from '../csv/text-rules.js';
import { OFFICE_VERSIONS, type OfficeVersion } from '../csv/user-spec.js';
import type { ErrorCode } from '../errors/index.js';
import { FleetError } from '../errors/index.js';

/** Successful answers of an apply script (docs/remote-contract.md §5). */
export const REMOTE_STATUSES = [
  'applied',
  'already-applied',
  // Staged while Outlook runs: Outlook takes the import at its next clean start; `verify` confirms it later.
  'applied-pending-restart',
  'rolled-back',
  // Rollback found no backup of this campaign: nothing was changed (not the same as a restore).
  'nothing-to-restore',
] as const;
export type RemoteStatus = (typeof REMOTE_STATUSES)[number];

/** The JSON object an apply script prints as the last line of stdout, every field checked and bounded. */
export interface RemoteResult {
  readonly status: RemoteStatus;
  readonly officeVersion?: OfficeVersion;
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
  // Windows side (agent/windows/apply-profile.ps1, mirrored by the POSIX stand-in).
  74: 'FR_ERR_REMOTE_BACKUP_FAILED',
  71: 'FR_ERR_REMOTE_HIVE_UNLOAD_FAILED',
  78: 'FR_ERR_REMOTE_STAGING_UNSAFE',
};

export const STDERR_TAIL_BYTES = 2048;
/** Longest path or message kept from a workstation's JSON. */
export const MAX_REMOTE_PATH_CHARS = 1024;
export const MAX_REMOTE_MESSAGE_CHARS = 500;

/**
 * PowerShell 5.1 writes progress and error records to stderr as CLIXML (`#< CLIXML` then `<Objs …>` lines) when
 * it runs under -EncodedCommand / -NonInteractive: keep the text of `<S S="Error">` records, drop the XML.
 */
export function stripClixml(text: string): string {
  if (!text.includes('#< CLIXML')) return text;
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('#< CLIXML')) continue;
    if (line.startsWith('<Objs')) {
      for (const match of line.matchAll(/<S S="Error">([^<]*)<\/S>/g)) {
        out.push(
          (match[1] ?? '')
            .replace(/_x000D__x000A_/g, '')
            .replace(/_x([0-9A-F]{4})_/g, (_all, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
            .replace(/&lt;/g, '<')
            .replace(/&gt;/g, '>')
            .replace(/&quot;/g, '"')
            .replace(/&apos;/g, "'")
            .replace(/&amp;/g, '&'),
        );
      }
      continue;
    }
    out.push(line);
  }
  return out.join('\n');
}

/** Last `max` characters of stderr (CLIXML stripped), control characters other than newline/tab escaped. */
export function tailOf(text: string, max = STDERR_TAIL_BYTES): string {
  const plain = stripClixml(text);
  const tail = plain.length > max ? plain.slice(plain.length - max) : plain;
  return tail.replace(
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/** The last non-empty stdout line as a JSON object, or undefined. */
export function lastJsonLine(stdout: string): Record<string, unknown> | undefined {
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

/**
 * The exit code the script meant: `"exit": N` in its JSON wins over the process's code, because Win32-OpenSSH
 * with PowerShell as DefaultShell runs `powershell -c`, which turns every native non-zero code into 1.
 */
export function effectiveExitCode(json: Record<string, unknown> | undefined, processExit: number): number {
  const exit = json?.['exit'];
  return typeof exit === 'number' && Number.isInteger(exit) && exit >= 0 && exit <= 255 ? exit : processExit;
}

/** Thrown for a field a workstation should never send; the value is quoted escaped and truncated. */
function badField(host: string, field: string, value: unknown, exitCode: number, stderrTail: string): FleetError {
  const shown = typeof value === 'string' ? `"${describeValue(value, 80)}"` : describeValue(String(value), 80);
  return new FleetError('FR_ERR_REMOTE_PROTOCOL', `workstation sent an invalid ${field}: ${shown}`, {
    host,
    exitCode,
    stderrTail,
  });
}

/** A printable, bounded string (no control character, no terminal escape), else undefined. */
export function isPrintableBounded(value: string, max: number): boolean {
  return value.length > 0 && value.length <= max && describeValue(value, max) === value;
}

const isRemoteStatus = (v: unknown): v is RemoteStatus => REMOTE_STATUSES.includes(v as RemoteStatus);
const isOfficeVersion = (v: unknown): v is OfficeVersion => OFFICE_VERSIONS.includes(v as OfficeVersion);

/** Checks the optional fields of a success answer; any field present but malformed fails the whole answer. */
function readResultFields(json: Record<string, unknown>, status: RemoteStatus, fail: (f: string, v: unknown) => never) {
  const result: { -readonly [K in keyof RemoteResult]: RemoteResult[K] } = { status };
  const office = json['officeVersion'];
  if (office !== undefined) {
    if (!isOfficeVersion(office)) fail('officeVersion', office);
    result.officeVersion = office;
  }
  const backup = json['backup'];
  if (backup !== undefined) {
    if (typeof backup !== 'string' || !isPrintableBounded(backup, MAX_REMOTE_PATH_CHARS)) fail('backup', backup);
    result.backup = backup;
  }
  const checksum = json['checksum'];
  if (checksum !== undefined) {
    if (typeof checksum !== 'string' || !/^[0-9a-f]{64}$/.test(checksum)) fail('checksum', checksum);
    result.checksum = checksum;
  }
  return result;
}

/** The workstation's own message, bounded and escaped (it is not trusted). */
export function remoteMessageOf(json: Record<string, unknown> | undefined): string | undefined {
  const raw = json?.['message'];
  return typeof raw === 'string' && raw !== '' ? describeValue(raw, MAX_REMOTE_MESSAGE_CHARS) : undefined;
}

/** The error a non-zero (effective) exit code stands for. */
export function remoteFailure(
  exitCode: number,
  json: Record<string, unknown> | undefined,
  host: string,
  stderr: string,
) {
  const code = EXIT_CODE_ERRORS[exitCode] ?? 'FR_ERR_REMOTE_FAILED';
  const remoteMessage = remoteMessageOf(json);
  // The code once: a message that already names it ("fault switch: exit 77") is not followed by "(exit 77)".
  const named =
    remoteMessage !== undefined && new RegExp(`\\bexit(?: code)?:? ${exitCode}\\b`, 'i').test(remoteMessage);
  const message = remoteMessage ? (named ? remoteMessage : `${remoteMessage} (exit ${exitCode})`) : undefined;
  return new FleetError(code, message, { host, exitCode, stderrTail: tailOf(stderr) });
}

/**
 * Interpret one run of the apply command. The effective exit code (JSON `exit`, else the process's) 0 with a valid
 * JSON last line → the result; anything else → a FleetError carrying exit code, remote message and stderr tail.
 * Every field is checked here, so nothing a workstation sends reaches a record or a terminal unescaped.
 */
export function interpretRemoteRun(run: RemoteRun, host: string): RemoteResult {
  const json = lastJsonLine(run.stdout);
  const exitCode = effectiveExitCode(json, run.exitCode);
  const stderrTail = tailOf(run.stderr);
  if (exitCode !== 0) throw remoteFailure(exitCode, json, host, run.stderr);
  const status = json?.['status'];
  if (json === undefined || status === undefined) {
    throw new FleetError('FR_ERR_REMOTE_PROTOCOL', undefined, { host, exitCode: 0, stderrTail });
  }
  const fail = (field: string, value: unknown): never => {
    throw badField(host, field, value, 0, stderrTail);
  };
  if (!isRemoteStatus(status)) fail('status', status);
  return readResultFields(json, status as RemoteStatus, fail);
}

/**
 * The user state machine and the attempt history know `applied`, `already-applied` and `rolled-back` only: the
 * two newer answers are recorded as those, with a note in the attempt's message that says what really happened.
 */
export function attemptOutcomeOf(status: RemoteStatus): 'applied' | 'already-applied' | 'rolled-back' {
  if (status === 'applied-pending-restart') return 'applied';
  if (status === 'nothing-to-restore') return 'rolled-back';
  return status;
}

/** Marks in the attempt message, read back by `verify` and shown by `user`. */
export const PENDING_RESTART_NOTE =
  'applied-pending-restart: staged while Outlook was running; Outlook imports it at its next clean start (run verify)';
export const NOTHING_TO_RESTORE_NOTE =
  'nothing-to-restore: no backup of this campaign on the workstation; nothing changed';

export function attemptNoteOf(status: RemoteStatus): string | undefined {
  if (status === 'applied-pending-restart') return PENDING_RESTART_NOTE;
  if (status === 'nothing-to-restore') return NOTHING_TO_RESTORE_NOTE;
  return undefined;
}
