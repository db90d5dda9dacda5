import { parseDocument } from 'yaml';
import { FleetError } from '../errors/index.js';
import { type ApplyAllowList, checkApplyTemplateText, isApplyCommandName } from './apply-command-rules.js';

/**
 * The agent's allow-list file (YAML or JSON, on the agent host): one `name: template` per line, e.g.
 * `corp-wrapper: "& 'C:\Tools\wrap.ps1' -Script {script} -Prf {prf} -User {user} -Office {office} -Campaign {campaign} -Checksum {checksum} {rollback}"`.
 * Every template obeys the campaign file's rules. Pure: the caller reads the file.
 */
export function parseApplyAllowListText(text: string, file: string): ApplyAllowList {
  const document = parseDocument(text, { uniqueKeys: true });
  const problems: string[] = document.errors.map((error) => error.message.split('\n')[0] ?? error.code);
  const data: unknown = problems.length === 0 ? (document.toJS() ?? {}) : {};
  const list = new Map<string, string>();
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    problems.push('expected a mapping of name: template');
  } else {
    for (const [name, template] of Object.entries(data)) {
      if (!isApplyCommandName(name)) {
        problems.push(`${JSON.stringify(name)}: a name is lower-case letters, digits, . _ - (at most 64)`);
      } else if (typeof template !== 'string') {
        problems.push(`${name}: the template must be text`);
      } else {
        problems.push(...checkApplyTemplateText(template).map((problem) => `${name}: ${problem}`));
        list.set(name, template);
      }
    }
  }
  if (problems.length > 0) {
    throw new FleetError('FR_ERR_CONFIG_INVALID', `apply-command allow-list ${file}: ${problems.join('; ')}`, {
      file,
    });
  }
  return list;
}
