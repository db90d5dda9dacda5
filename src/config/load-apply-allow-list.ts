import { readFile } from 'node:fs/promises';
import { FleetError } from '../errors/index.js';
import type { ApplyAllowList } from './apply-command-rules.js';
import { parseApplyAllowListText } from './parse-apply-allow-list.js';

/** Reads the agent's `--allow-apply-commands` file; no file → an empty list (only the shipped script runs). */
export async function loadApplyAllowList(path: string | undefined): Promise<ApplyAllowList> {
  if (!path) return new Map();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'read error';
    throw new FleetError('FR_ERR_FILE_UNREADABLE', `apply-command allow-list cannot be read (${reason}): ${path}`, {
      file: path,
    });
  }
  return parseApplyAllowListText(text.replace(/^\ufeff/, ''), path);
}
