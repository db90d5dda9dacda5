import { readFile } from 'node:fs/promises';
import { FleetError } from '../../errors/index.js';
import { type KnownHostEntry, parseKnownHosts } from './known-hosts.js';

/**
 * Reads an OpenSSH known_hosts file. A path that was given but does not exist is an error, never an empty list:
 * a typo must not turn `accept-new` into "pin whatever answers" or `strict` into "every host unknown".
 */
export async function loadKnownHosts(path: string | undefined): Promise<KnownHostEntry[]> {
  if (!path) return [];
  try {
    return parseKnownHosts(await readFile(path, 'utf8'));
  } catch (error) {
    throw new FleetError(
      'FR_ERR_FILE_UNREADABLE',
      `known_hosts file cannot be read: ${path}`,
      { path },
      { cause: error },
    );
  }
}
