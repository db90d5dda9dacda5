import { describeValue } from '../csv/text-rules.js';
import type { OfficeVersion } from '../csv/user-spec.js';
import { type ErrorCode, FleetError } from '../errors/index.js';
import { type OfficePolicy, officePolicySkipReason } from '../profile/office-policy.js';
import { effectiveExitCode, lastJsonLine, type RemoteRun, remoteFailure, tailOf } from './remote-result.js';

/** What the apply script's read-only probe mode reports about one user's workstation (every string escaped). */
export interface ProbeReport {
  readonly os: string;
  readonly psVersion: string;
  /** Win32-OpenSSH DefaultShell (HKLM\SOFTWARE\OpenSSH), `cmd.exe` when unset; POSIX: the login shell. */
  readonly defaultShell: string;
  /** `exit 75` came back as 75 (false: a PowerShell DefaultShell turned it into 1; the JSON `exit` still carries it). */
  readonly exitPassThrough?: boolean;
  readonly staging: 'safe' | 'unsafe' | 'unknown';
  /** Installed Outlook versions (with bitness on Windows, e.g. `16.0 x64`), or `unknown`. */
  readonly officeInstalled: readonly string[] | 'unknown';
  readonly officeMatches: boolean | undefined;
  readonly outlookRunning: boolean | undefined;
  readonly profile: 'present' | 'absent' | 'unknown';
  readonly profileType: 'local' | 'roaming' | 'fslogix' | 'upd' | 'temporary' | 'unknown';
  readonly loggedOn: boolean | undefined;
  /** An ImportPRF is already waiting for Outlook's next start. */
  readonly importPending: boolean | undefined;
  /** OS meets the prerequisites (Windows 10 1809+/Server 2019+ built-in OpenSSH, or Win32-OpenSSH + WMF 5.1). */
  readonly osSupported: boolean | undefined;
  /** Values that silently override a PRF (Autodiscover exclusions, ZeroConfigExchange, MapiHttpDisabled…). */
  readonly overrides: Readonly<Record<string, string>>;
}

const MAX_TEXT = 200;
const MAX_OVERRIDES = 32;

const text = (value: unknown): string => (typeof value === 'string' ? describeValue(value, MAX_TEXT) : 'unknown');
const bool = (value: unknown): boolean | undefined => (typeof value === 'boolean' ? value : undefined);
function oneOf<T extends string>(value: unknown, allowed: readonly T[]): T | 'unknown' {
  return allowed.includes(value as T) ? (value as T) : 'unknown';
}

function readOverrides(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return out;
  for (const [key, raw] of Object.entries(value).slice(0, MAX_OVERRIDES)) {
    out[describeValue(key, 80)] = describeValue(String(raw), MAX_TEXT);
  }
  return out;
}

/** Interprets the probe answer; a non-zero effective exit is the usual remote failure (e.g. 64 from an old script). */
export function interpretProbeRun(run: RemoteRun, host: string): ProbeReport {
  const json = lastJsonLine(run.stdout);
  const exitCode = effectiveExitCode(json, run.exitCode);
  if (exitCode !== 0) throw remoteFailure(exitCode, json, host, run.stderr);
  if (json?.['status'] !== 'probe') {
    throw new FleetError('FR_ERR_REMOTE_PROTOCOL', 'the probe answer is not a probe result', {
      host,
      exitCode,
      stderrTail: tailOf(run.stderr),
    });
  }
  const office = json['officeInstalled'];
  return {
    os: text(json['os']),
    psVersion: text(json['psVersion']),
    defaultShell: text(json['defaultShell']),
    staging: oneOf(json['staging'], ['safe', 'unsafe'] as const),
    officeInstalled: Array.isArray(office) ? office.slice(0, 8).map((v) => text(v)) : 'unknown',
    officeMatches: bool(json['officeMatches']),
    outlookRunning: bool(json['outlookRunning']),
    profile: oneOf(json['profile'], ['present', 'absent'] as const),
    profileType: oneOf(json['profileType'], ['local', 'roaming', 'fslogix', 'upd', 'temporary'] as const),
    loggedOn: bool(json['loggedOn']),
    importPending: bool(json['importPending']),
    osSupported: bool(json['osSupported']),
    overrides: readOverrides(json['overrides']),
  };
}

/** One line of the probe table: a verdict per host and user. */
export type ProbeVerdict =
  | 'ready'
  | 'unreachable'
  | 'host-key'
  | 'auth-failed'
  | 'skipped-by-policy'
  | 'staging-unsafe'
  | 'office-mismatch'
  | 'no-profile'
  | 'waits-for-logon'
  | 'outlook-running'
  | 'os-unsupported'
  | 'error';

/** Summary wording of each verdict, in the order the summary line lists them. */
export const VERDICT_LABELS: Readonly<Record<ProbeVerdict, string>> = {
  ready: 'ready',
  unreachable: 'unreachable',
  'host-key': 'host key refused',
  'auth-failed': 'authentication failed',
  'skipped-by-policy': 'skipped by policy',
  'staging-unsafe': 'staging ACL unsafe',
  'office-mismatch': 'Outlook version differs',
  'no-profile': 'no user profile',
  'waits-for-logon': 'roaming profile, waits for logon',
  'outlook-running': 'Outlook running',
  'os-unsupported': 'OS unsupported',
  error: 'error',
};

const UNREACHABLE: readonly ErrorCode[] = [
  'FR_ERR_SSH_CONNECT_REFUSED',
  'FR_ERR_SSH_CONNECT_TIMEOUT',
  'FR_ERR_SSH_HOST_UNREACHABLE',
  'FR_ERR_SSH_HOST_NOT_FOUND',
  'FR_ERR_SSH_CONNECTION_RESET',
  'FR_ERR_TRANSPORT_TIMEOUT',
];

/** The verdict for a probe that failed before the script answered. */
export function verdictOfError(code: ErrorCode): ProbeVerdict {
  if (UNREACHABLE.includes(code)) return 'unreachable';
  if (code === 'FR_ERR_SSH_HOSTKEY_CHANGED' || code === 'FR_ERR_SSH_HOSTKEY_UNKNOWN') return 'host-key';
  if (code === 'FR_ERR_SSH_AUTH_FAILED') return 'auth-failed';
  if (code === 'FR_ERR_REMOTE_STAGING_UNSAFE') return 'staging-unsafe';
  return 'error';
}

/** What a deploy would do with this user, judged from the probe (first blocking reason wins). */
export function verdictOfProbe(
  report: ProbeReport,
  office: OfficeVersion,
  policy: OfficePolicy,
  stageWhileRunning: boolean,
): { verdict: ProbeVerdict; reason: string } {
  const skip = officePolicySkipReason(office, policy);
  if (skip) return { verdict: 'skipped-by-policy', reason: skip };
  if (report.staging === 'unsafe') return { verdict: 'staging-unsafe', reason: 'staging or .fleet writable by others' };
  if (report.osSupported === false) return { verdict: 'os-unsupported', reason: report.os };
  if (report.officeMatches === false) {
    const installed = report.officeInstalled === 'unknown' ? 'unknown' : report.officeInstalled.join(', ') || 'none';
    return { verdict: 'office-mismatch', reason: `Outlook ${office} expected, installed: ${installed}` };
  }
  if (report.profile === 'absent') return { verdict: 'no-profile', reason: 'the user has no profile on this host' };
  if (['roaming', 'fslogix', 'upd'].includes(report.profileType) && report.loggedOn === false) {
    return { verdict: 'waits-for-logon', reason: `${report.profileType} profile: applied only while logged on` };
  }
  if (report.outlookRunning === true && !stageWhileRunning) {
    return { verdict: 'outlook-running', reason: 'Outlook is open: the apply waits (exit 75) until it closes' };
  }
  return { verdict: 'ready', reason: '' };
}

/** "412 ready, 31 unreachable, 7 Outlook 2016 → skipped by policy, 2 staging ACL unsafe" */
export function summarizeVerdicts(rows: readonly { verdict: ProbeVerdict; office?: OfficeVersion }[]): string {
  const counts = new Map<string, number>();
  for (const row of rows) {
    const label =
      row.verdict === 'skipped-by-policy'
        ? `Outlook ${row.office === '16.0' ? '2016+' : '2013'} → skipped by policy`
        : VERDICT_LABELS[row.verdict];
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  const order = Object.values(VERDICT_LABELS);
  const rank = (label: string): number => {
    const at = order.findIndex((l) => label.endsWith(l));
    return at < 0 ? order.length : at;
  };
  const parts = [...counts.entries()].sort((a, b) => rank(a[0]) - rank(b[0])).map(([l, n]) => `${n} ${l}`);
  return parts.length > 0 ? parts.join(', ') : 'no host probed';
}
