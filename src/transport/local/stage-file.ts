import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FleetError } from '../../errors/index.js';

/** Writes `<path>.tmp`, renames it over `path` (atomic on one filesystem) and reads it back to verify the SHA-256. */
export async function stageFileAtomically(
  path: string,
  bytes: Uint8Array,
  sha256: string,
  host: string,
): Promise<void> {
  const tmp = `${path}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (error) {
    throw new FleetError('FR_ERR_SSH_UPLOAD_FAILED', `staging failed: ${(error as Error).message}`, { host });
  }
  const actual = createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
  if (actual !== sha256) throw new FleetError('FR_ERR_SSH_CHECKSUM_MISMATCH', undefined, { host });
}
