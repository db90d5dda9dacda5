import { FleetError } from '../../errors/index.js';
import type { TargetOs } from '../transport.js';

/** Values substituted into an apply-command template; each is quoted for the target shell, never pasted raw. */
export interface ApplyCommandValues {
  readonly script: string;
  readonly prf: string;
  readonly user: string;
  readonly office: string;
  readonly campaign: string;
  /** Empty on rollback when unknown. */
  readonly checksum: string;
  readonly rollback: boolean;
}

export const DEFAULT_TEMPLATES: Readonly<Record<TargetOs, string>> = {
  posix:
    'sh {script} --campaign {campaign} --user {user} --prf {prf} --office {office} --checksum {checksum} {rollback}',
  windows: '& {script} -Campaign {campaign} -User {user} -Prf {prf} -Office {office} -Checksum {checksum} {rollback}',
};

const ROLLBACK_FLAGS: Readonly<Record<TargetOs, string>> = { posix: '--rollback', windows: '-Rollback' };
const PLACEHOLDERS = ['script', 'prf', 'user', 'office', 'campaign', 'checksum', 'rollback'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];

/** POSIX sh: one single-quoted word; `'` becomes `'\''`. */
export function quotePosix(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** PowerShell: a single-quoted literal; PowerShell also treats the typographic quotes ‘ ’ ‚ ‛ as `'`. */
export function quotePowerShell(value: string): string {
  return `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

/** Names every `{placeholder}` a template uses; unknown ones are a configuration error. */
export function checkApplyTemplate(template: string): void {
  for (const match of template.matchAll(/\{([^{}]*)\}/g)) {
    if (!PLACEHOLDERS.includes(match[1] as Placeholder)) {
      throw new FleetError('FR_ERR_CONFIG_INVALID', `apply_command has an unknown placeholder {${match[1]}}`);
    }
  }
}

function substitute(os: TargetOs, template: string, values: ApplyCommandValues): string {
  checkApplyTemplate(template);
  const quote = os === 'posix' ? quotePosix : quotePowerShell;
  const rollbackFlag = values.rollback ? ROLLBACK_FLAGS[os] : '';
  const withFlag = template.includes('{rollback}') || !values.rollback ? template : `${template} {rollback}`;
  return withFlag
    .replace(/\{([a-z]+)\}/g, (_all, name: Placeholder) => {
      if (name === 'rollback') return rollbackFlag;
      if (name === 'checksum' && values.checksum === '') return quote('');
      return quote(values[name]);
    })
    .trimEnd();
}

/** Base64 of UTF-16LE, for `powershell -EncodedCommand` (no cmd.exe quoting layer can alter it). */
function encodePowerShell(script: string): string {
  return Buffer.from(script, 'utf16le').toString('base64');
}

/**
 * The command line sent over SSH. posix: the template as sh text. windows: the template is PowerShell text,
 * run through `-EncodedCommand` so neither cmd.exe nor powershell.exe's own argument parsing (which does not
 * honour single quotes with -File) sees the values; PowerShell single-quote escaping protects them inside.
 */
export function buildApplyCommand(os: TargetOs, values: ApplyCommandValues, template?: string): string {
  const text = substitute(os, template ?? DEFAULT_TEMPLATES[os], values);
  if (os === 'posix') return text;
  const wrapped = `$ProgressPreference = 'SilentlyContinue'; $LASTEXITCODE = 1; ${text}; exit $LASTEXITCODE`;
  return `powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ${encodePowerShell(wrapped)}`;
}

/** Line the posix prelude prints when the uploaded file does not match (told apart from the script's own 65). */
export const CHECKSUM_MISMATCH_MARKER = '{"status":"checksum-mismatch"}';

/**
 * posix: verify the uploaded `.tmp` (sha256sum) and rename it over the `.prf` in the same exec as the apply
 * (one round trip; the rename is atomic and only ever moves a complete, verified file).
 */
export function buildPosixPrelude(tmpPath: string, prfPath: string, checksum: string): string {
  const tmp = quotePosix(tmpPath);
  return [
    `s=$(sha256sum < ${tmp}) && [ "\${s%% *}" = ${quotePosix(checksum)} ]`,
    `|| { rm -f ${tmp}; echo 'fleet-rollout: uploaded file checksum mismatch' >&2; echo '${CHECKSUM_MISMATCH_MARKER}'; exit 65; };`,
    `mv -f ${tmp} ${quotePosix(prfPath)} || exit 73;`,
  ].join(' ');
}
