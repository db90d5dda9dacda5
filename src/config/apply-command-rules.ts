/**
 * Rules for apply-command templates (pure). A campaign's `apply_command` is either the name of a template on the
 * agents' allow-list (`corp-wrapper`) or a template text; agents decide what they run (docs/security.md).
 */

/** Every placeholder a template may use; all but `{rollback}` (appended when missing) are required. */
export const APPLY_PLACEHOLDERS = ['script', 'prf', 'user', 'office', 'campaign', 'checksum', 'rollback'] as const;
export type ApplyPlaceholder = (typeof APPLY_PLACEHOLDERS)[number];
export const REQUIRED_PLACEHOLDERS: readonly ApplyPlaceholder[] = [
  'script',
  'prf',
  'user',
  'office',
  'campaign',
  'checksum',
];

/** A reference to an allow-listed template: a short lower-case name, never a command line. */
export const APPLY_COMMAND_NAME_RE = /^[a-z][a-z0-9._-]{0,63}$/;

export const isApplyCommandName = (value: string): boolean => APPLY_COMMAND_NAME_RE.test(value);

// `powershell … -File x.ps1`: powershell.exe then splits arguments with the C runtime rules, where single quotes are
// not quotes, and cmd.exe still expands `%` and `"` — the quoting this tool does would not protect the values.
const FILE_FORM_RE = /(?:^|[\s;&|(])-(?:file|fi|fil)(?=[\s:]|$)/i;
const SHELL_F_FORM_RE = /\b(?:powershell|pwsh)(?:\.exe)?\b[^;&|]*\s-f(?=\s|$)/i;

/** Problems of a template text (empty when it is usable). */
export function checkApplyTemplateText(template: string): string[] {
  const problems: string[] = [];
  if (template.trim() === '') return ['apply_command is empty'];
  if (/[\u0000-\u001f\u007f]/.test(template))
    problems.push('apply_command must be one line without control characters');
  const used = new Set<string>();
  for (const match of template.matchAll(/\{([^{}]*)\}/g)) {
    const name = match[1] ?? '';
    if (!(APPLY_PLACEHOLDERS as readonly string[]).includes(name)) {
      problems.push(`apply_command has an unknown placeholder {${name}} (use ${formatPlaceholders()})`);
    }
    used.add(name);
  }
  const stray = template.replace(/\{[^{}]*\}/g, '');
  if (/[{}]/.test(stray)) problems.push('apply_command has an unmatched { or }');
  const missing = REQUIRED_PLACEHOLDERS.filter((name) => !used.has(name));
  if (missing.length > 0) {
    problems.push(
      `apply_command lacks ${missing.map((n) => `{${n}}`).join(' ')}: the apply script needs every one of ` +
        `${REQUIRED_PLACEHOLDERS.map((n) => `{${n}}`).join(' ')}`,
    );
  }
  if (FILE_FORM_RE.test(template) || SHELL_F_FORM_RE.test(template)) {
    problems.push(
      'apply_command uses powershell -File: arguments would be split by the C runtime rules, not quoted; ' +
        'write PowerShell text instead, e.g. & {script} -User {user} … (docs/remote-contract.md §3)',
    );
  }
  return problems;
}

/** Problems of a campaign's `apply_command` value: a name of an allow-listed template, or a usable template. */
export function checkApplyCommandSetting(value: string): string[] {
  return isApplyCommandName(value) ? [] : checkApplyTemplateText(value);
}

function formatPlaceholders(): string {
  return APPLY_PLACEHOLDERS.map((n) => `{${n}}`).join(' ');
}

/** The templates an agent accepts besides its default, by name (from the agent's own allow-list file). */
export type ApplyAllowList = ReadonlyMap<string, string>;

export type ApplyTemplateChoice =
  | { readonly ok: true; readonly template: string | undefined }
  | { readonly ok: false; readonly reason: string };

/**
 * What the agent runs for a campaign's `apply_command`: undefined → the shipped script's default template; a name
 * on the allow-list → its template; a text equal to an allowed template → that template; anything else → refused.
 */
export function chooseApplyTemplate(requested: string | undefined, allowList: ApplyAllowList): ApplyTemplateChoice {
  if (requested === undefined) return { ok: true, template: undefined };
  const byName = allowList.get(requested);
  if (byName !== undefined) return { ok: true, template: byName };
  for (const template of allowList.values()) {
    if (template === requested) return { ok: true, template };
  }
  const what = isApplyCommandName(requested) ? `named "${requested}"` : 'given as a template';
  return {
    ok: false,
    reason:
      allowList.size === 0
        ? `the campaign's apply command (${what}) is refused: this agent runs only the shipped apply script (start it with --allow-apply-commands to allow others)`
        : `the campaign's apply command (${what}) is not on this agent's allow-list (${[...allowList.keys()].join(', ')})`,
  };
}
