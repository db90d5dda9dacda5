import { readFile } from 'node:fs/promises';
import { FleetError } from '../../errors/index.js';
import { type KnownHostEntry, parseKnownHosts } from './known-hosts.js';

/** Reads an OpenSSH known_hosts file; a missing file is an empty list (accept-new will pin). */
export async function loadKnownHosts(path: string | undefined): Promise<KnownHostEntry[]> {
  if (!path) return [];
  try {
    return parseKnownHosts(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return [];
    throw new FleetError('FR_ERR_FILE_UNREADABLE', `known_hosts file cannot be read: ${path}`, { path });
  }
}
