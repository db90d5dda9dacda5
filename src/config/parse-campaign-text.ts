import { type Document, isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { checkDefaultCells } from '../csv/check-default-cells.js';
import { toDefaultCells } from '../csv/validate-row.js';
import { FleetError } from '../errors/index.js';
import { type CampaignFile, campaignFileSchema } from './campaign-schema.js';

/**
 * Campaign file text (YAML, or JSON which YAML 1.2 reads too) → validated, frozen settings (pure).
 * Every problem is reported at once, each with its dot path, so an admin fixes the file in one pass.
 */
export function parseCampaignText(text: string, file: string): CampaignFile {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter });
  if (document.errors.length > 0) {
    const problems = document.errors.map((error) => {
      const where = error.linePos?.[0] ? `line ${error.linePos[0].line}: ` : '';
      return `${where}${error.message.split('\n')[0] ?? error.code}`;
    });
    throw invalid(problems, file);
  }
  const data: unknown = document.toJS() ?? {};
  const result = campaignFileSchema.safeParse(data);
  const lineOf = (path: readonly PropertyKey[]) => findLine(document, lineCounter, path);
  if (!result.success) throw invalid(describeIssues(result.error.issues, lineOf), file);
  // A default is checked by its column's rule here, once, rather than rejecting every row that relies on it.
  const badDefaults = checkDefaultCells(toDefaultCells(result.data.defaults));
  if (badDefaults.length > 0) {
    const problems = badDefaults.map(({ column, reason }) => {
      const line = lineOf(['defaults', column]);
      return `${line === undefined ? '' : `line ${line}: `}defaults.${column}: ${reason}`;
    });
    throw invalid(problems, file);
  }
  return deepFreeze(result.data);
}

/**
 * `line 12: deploy.ssh.port: expected number, received string`; unknown keys are named one by one. The line is the
 * one of the value at the path (or of its nearest parent present in the file), when the caller can tell it.
 */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  lineOf: (path: readonly PropertyKey[]) => number | undefined = () => undefined,
): string[] {
  const problems: string[] = [];
  const at = (path: readonly PropertyKey[]) => {
    const line = lineOf(path);
    return line === undefined ? '' : `line ${line}: `;
  };
  for (const issue of issues) {
    const path = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        problems.push(`${at([...issue.path, key])}${formatPath([...issue.path, key])}: unknown key`);
      continue;
    }
    problems.push(`${at(issue.path)}${path || '(top level)'}: ${issue.message}`);
  }
  return problems;
}

/** Line of the node at `path` (a key's own line for an unknown key), else of its nearest parent in the file. */
function findLine(document: Document, lineCounter: LineCounter, path: readonly PropertyKey[]): number | undefined {
  for (let length = path.length; length >= 1; length -= 1) {
    const parts = path.slice(0, length).map((part) => (typeof part === 'symbol' ? String(part) : part));
    const parent = length > 1 ? document.getIn(parts.slice(0, -1), true) : document.contents;
    // The key node first (an unknown key has no value the schema looked at), then the value.
    const key = (parent as { items?: { key?: unknown }[] } | null)?.items?.find?.(
      (item) => isNode(item.key) && (item.key as { value?: unknown }).value === parts[parts.length - 1],
    )?.key;
    const node = isNode(key) ? key : document.getIn(parts, true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return undefined;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part) => (typeof part === 'number' ? `[${part}]` : String(part)))
    .join('.')
    .replaceAll('.[', '[');
}

function invalid(problems: readonly string[], file: string): FleetError {
  const message = `invalid campaign file: ${problems.join('; ')}`;
  return new FleetError('FR_ERR_CAMPAIGN_FILE_INVALID', message, { file, problems: problems.length });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
