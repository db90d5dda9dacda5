import { constants } from 'node:fs';
import { access, mkdir, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FleetError } from '../errors/index.js';

function unwritable(path: string, reason: string): FleetError {
  return new FleetError('FR_ERR_OUTPUT_UNWRITABLE', `output directory cannot be used: ${reason}`, { file: path });
}

/**
 * Makes sure `dir` exists and is a writable directory before any work starts, creating missing levels one at a time.
 * (Node's recursive mkdir spins at 100 % CPU forever under /proc; a file in the way or a read-only parent must be one
 * line, not a half-done run.)
 */
export async function prepareOutputDir(dir: string): Promise<void> {
  const target = resolve(dir);
  const missing: string[] = [];
  let existing = target;
  for (;;) {
    try {
      const info = await stat(existing);
      if (!info.isDirectory()) throw unwritable(dir, `${existing} exists and is not a directory`);
      break;
    } catch (error) {
      if (error instanceof FleetError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR')
        throw unwritable(dir, `${existing} cannot be examined (${code ?? 'error'})`);
      const parent = dirname(existing);
      if (parent === existing) throw unwritable(dir, 'no existing parent directory');
      missing.unshift(existing);
      existing = parent;
    }
  }
  try {
    await access(existing, constants.W_OK | constants.X_OK);
  } catch {
    throw unwritable(dir, `${existing} is not writable`);
  }
  for (const level of missing) {
    try {
      await mkdir(level);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw unwritable(dir, `${level} cannot be created (${code ?? 'error'})`);
    }
  }
  const info = await stat(target).catch(() => undefined);
  if (!info?.isDirectory()) throw unwritable(dir, 'it could not be created as a directory');
}

/** After a failed run: the files that say "this output is complete" must not survive from an earlier run. */
export async function removeCompletionMarkers(dir: string, names: readonly string[]): Promise<void> {
  await Promise.allSettled(names.map((name) => rm(resolve(dir, name), { force: true })));
}
