import { readFile } from 'node:fs/promises';
import { FleetError } from '../../errors/index.js';
import { MIN_PIN_SECRET_BYTES } from './host-key-verifier.js';

/**
 * The accept-new pin secret: the file's bytes without a trailing line break. Every agent of a fleet holds the same
 * file; Redis never sees it (docs/security.md). A short or missing secret stops the agent at start-up.
 */
export async function loadPinSecret(path: string | undefined): Promise<Buffer> {
  if (!path) throw new FleetError('FR_ERR_CONFIG_INVALID', 'accept-new needs --host-key-pin-secret-file');
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'read error';
    throw new FleetError('FR_ERR_FILE_UNREADABLE', `host key pin secret file cannot be read (${reason}): ${path}`, {
      path,
    });
  }
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  const secret = bytes.subarray(0, end);
  if (secret.length < MIN_PIN_SECRET_BYTES) {
    throw new FleetError(
      'FR_ERR_CONFIG_INVALID',
      `host key pin secret file ${path} holds ${secret.length} bytes: use at least ${MIN_PIN_SECRET_BYTES} random bytes (e.g. openssl rand -hex 32)`,
      { path },
    );
  }
  return Buffer.from(secret);
}
