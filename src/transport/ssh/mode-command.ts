import type { TargetOs } from '../transport.js';
import { DEFAULT_TEMPLATES, quotePosix, quotePowerShell } from './apply-command.js';

/**
 * Extra switches of the apply script (its read-only modes and the stage-while-running option), added to the
 * apply-command template without touching the template policy: right after `{rollback}` when the template has it,
 * else at the end (a custom template must end with the script's arguments). Values are quoted like placeholders.
 */
export type ScriptMode =
  | { readonly kind: 'probe' }
  | { readonly kind: 'exit-test' }
  | { readonly kind: 'verify'; readonly expectProxy?: string; readonly expectFlags?: string }
  | { readonly kind: 'stage-while-running' }
  /** Windows only: the script's whole-run budget, kept below the agent's command timeout (docs §8 of the runbook). */
  | { readonly kind: 'budget'; readonly seconds: number };

const SWITCHES: Readonly<Record<TargetOs, Readonly<Record<ScriptMode['kind'], string>>>> = {
  posix: {
    probe: '--probe',
    'exit-test': '--exit-test',
    verify: '--verify',
    'stage-while-running': '--stage-while-running',
    budget: '',
  },
  windows: {
    probe: '-Probe',
    'exit-test': '-ExitTest',
    verify: '-Verify',
    'stage-while-running': '-StageWhileRunning',
    budget: '-BudgetSeconds',
  },
};

/** The code `exit-test` asks the script to exit with (a PowerShell DefaultShell turns it into 1). */
export const EXIT_TEST_CODE = 75;

function modeArguments(os: TargetOs, mode: ScriptMode): string {
  const words = [SWITCHES[os][mode.kind]];
  if (mode.kind === 'budget') words.push(String(Math.max(1, Math.floor(mode.seconds))));
  if (mode.kind === 'verify') {
    const quote = os === 'posix' ? quotePosix : quotePowerShell;
    const [proxyFlag, flagsFlag] =
      os === 'posix' ? ['--expect-proxy', '--expect-flags'] : ['-ExpectProxy', '-ExpectFlags'];
    if (mode.expectProxy !== undefined) words.push(proxyFlag, quote(mode.expectProxy));
    if (mode.expectFlags !== undefined) words.push(flagsFlag, quote(mode.expectFlags));
  }
  return words.join(' ');
}

/**
 * The script's run budget for a command timeout: 15 s below it (connection and wrapper), at most 90 s (the script's
 * default), so the agent never kills a run that still holds a mounted hive.
 */
export function scriptBudgetSeconds(commandTimeoutMs: number): number {
  return Math.max(5, Math.min(90, Math.floor(commandTimeoutMs / 1000) - 15));
}

/** The template with the mode's switches (braces never occur in them: host names and hex flags only). */
export function templateWithMode(os: TargetOs, template: string | undefined, mode: ScriptMode): string {
  const base = template ?? DEFAULT_TEMPLATES[os];
  if (SWITCHES[os][mode.kind] === '') return base;
  const extra = modeArguments(os, mode).replace(/[{}]/g, '');
  return base.includes('{rollback}') ? base.replace('{rollback}', `{rollback} ${extra}`) : `${base} ${extra}`;
}

/** Exit code and message when the script on disk is not the one the agent pushed (remote-result: staging unsafe). */
export const SCRIPT_CHANGED_EXIT = 78;
const SCRIPT_CHANGED = `"status":"error","exit":${SCRIPT_CHANGED_EXIT},"message":"the apply script changed after upload"`;
/** The last line of a run whose script was not the agent's version (nothing of the script ran). */
export const SCRIPT_CHANGED_LINE = `{${SCRIPT_CHANGED}}`;

/**
 * sh: the script's SHA-256 or the line above and exit 78. One process (sha256sum); `case`, not `[ "${s%% *}" ]`,
 * because braces are the template grammar's placeholders.
 */
function posixScriptCheck(script: string, sha256: string): string {
  return (
    `case $(sha256sum < ${script}) in '${sha256} '*) ;; ` +
    `*) printf '\\173${SCRIPT_CHANGED}\\175\\n'; exit ${SCRIPT_CHANGED_EXIT};; esac;`
  );
}

const checkSha = (sha256: string): void => {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error('script checksum must be hex SHA-256');
};

/**
 * Re-check the script's SHA-256 right before running it: a file swapped between push and run (staging writable by
 * someone else) is not run, the host answers exit 78 instead. Written without braces (the template grammar reserves
 * them for placeholders): the JSON's braces are `[char]123`/`[char]125` in PowerShell and octal escapes in printf.
 */
export function withScriptCheck(os: TargetOs, template: string | undefined, sha256: string): string {
  const base = template ?? DEFAULT_TEMPLATES[os];
  checkSha(sha256);
  if (os === 'posix') return `${posixScriptCheck('{script}', sha256)} ${base}`;
  return (
    `$null = ((Get-FileHash -Algorithm SHA256 -LiteralPath {script}).Hash -eq '${sha256}') -or ` +
    `$([Console]::Out.WriteLine([char]123 + '${SCRIPT_CHANGED}' + [char]125); exit ${SCRIPT_CHANGED_EXIT}); ${base}`
  );
}
