import {
  APPLY_PLACEHOLDERS,
  type ApplyAllowList,
  type ApplyPlaceholder,
  checkApplyTemplateText,
  chooseApplyTemplate,
} from '../../config/apply-command-rules.js';
import { FleetError } from '../../errors/index.js';
import type { DeployTarget, TargetOs } from '../transport.js';

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

/** POSIX sh: one single-quoted word; `'` becomes `'\''`. */
export function quotePosix(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** PowerShell: a single-quoted literal; PowerShell also treats the typographic quotes ‘ ’ ‚ ‛ as `'`. */
export function quotePowerShell(value: string): string {
  return `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

/** Templates found well formed already: an agent checks the same few texts for every user it deploys. */
const WELL_FORMED = new Set<string>();
const WELL_FORMED_MAX = 1024;

/** A template the agent is about to use must be well formed (allow-list entries are checked at start-up too). */
export function checkApplyTemplate(template: string): void {
  if (WELL_FORMED.has(template)) return;
  const problems = checkApplyTemplateText(template);
  if (problems.length > 0) throw new FleetError('FR_ERR_CONFIG_INVALID', problems.join('; '));
  if (WELL_FORMED.size >= WELL_FORMED_MAX) WELL_FORMED.clear();
  WELL_FORMED.add(template);
}

/**
 * The template this agent runs for a target: its own default, or an allow-listed one the campaign names. Anything
 * else (a template only Redis knows) is refused before any connection: FR_ERR_APPLY_COMMAND_NOT_ALLOWED.
 */
export function resolveApplyTemplate(target: DeployTarget, allowList: ApplyAllowList): string | undefined {
  const choice = chooseApplyTemplate(target.applyCommand, allowList);
  if (!choice.ok) {
    throw new FleetError('FR_ERR_APPLY_COMMAND_NOT_ALLOWED', choice.reason, { host: target.host, step: 'policy' });
  }
  if (choice.template !== undefined) checkApplyTemplate(choice.template);
  return choice.template;
}

function substitute(os: TargetOs, template: string, values: ApplyCommandValues): string {
  const quote = os === 'posix' ? quotePosix : quotePowerShell;
  const rollbackFlag = values.rollback ? ROLLBACK_FLAGS[os] : '';
  const withFlag = template.includes('{rollback}') || !values.rollback ? template : `${template} {rollback}`;
  return withFlag
    .replace(/\{([^{}]*)\}/g, (_all, name: ApplyPlaceholder) => {
      if (!APPLY_PLACEHOLDERS.includes(name)) {
        throw new FleetError('FR_ERR_CONFIG_INVALID', `apply_command has an unknown placeholder {${name}}`);
      }
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
