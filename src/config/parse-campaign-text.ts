import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { FleetError } from '../errors/index.js';
import { type CampaignFile, campaignFileSchema } from './campaign-schema.js';

/**
 * Campaign file text (YAML, or JSON which YAML 1.2 reads too) → validated, frozen settings (pure).
 * Every problem is reported at once, each with its dot path, so an admin fixes the file in one pass.
 */
export function parseCampaignText(text: string, file: string): CampaignFile {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const problems = document.errors.map((error) => {
      const where = error.linePos?.[0] ? `line ${error.linePos[0].line}: ` : '';
      return `${where}${error.message.split('\n')[0] ?? error.code}`;
    });
    throw invalid(problems, file);
  }
  const data: unknown = document.toJS() ?? {};
  const result = campaignFileSchema.safeParse(data);
  if (!result.success) throw invalid(describeIssues(result.error.issues), file);
  return deepFreeze(result.data);
}

/** `deploy.ssh.port: expected number, received string`; unknown keys are named one by one. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const problems: string[] = [];
  for (const issue of issues) {
    const path = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push(`${formatPath([...issue.path, key])}: unknown key`);
      continue;
    }
    problems.push(`${path || '(top level)'}: ${issue.message}`);
  }
  return problems;
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
