import { readFile, stat } from 'node:fs/promises';
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

/** known_hosts as the agent sees it now: read again whenever the file changed, so an edit needs no restart. */
export interface KnownHostsSource {
  entries(): readonly KnownHostEntry[];
  /** Reads the file again when its stat (mtime, ctime, size, inode) changed; true when it did. */
  refresh(): Promise<boolean>;
}

/** A fixed list (tests, or an agent without a file). */
export function fixedKnownHosts(entries: readonly KnownHostEntry[]): KnownHostsSource {
  return { entries: () => entries, refresh: async () => false };
}

const stamp = (s: { mtimeMs: number; ctimeMs: number; size: number; ino: number }): string =>
  `${s.mtimeMs}/${s.ctimeMs}/${s.size}/${s.ino}`;

/**
 * Opens the file (unreadable: FR_ERR_FILE_UNREADABLE, as loadKnownHosts). A later refresh that cannot read it keeps
 * the entries last read and tells `onError` once per failure streak: a file being replaced must not empty the list.
 */
export async function openKnownHostsFile(
  path: string,
  onError: (message: string) => void = () => undefined,
): Promise<KnownHostsSource> {
  let seen = stamp(await stat(path).catch(() => ({ mtimeMs: 0, ctimeMs: 0, size: 0, ino: 0 })));
  let entries: readonly KnownHostEntry[] = await loadKnownHosts(path);
  let failing = false;
  let pending: Promise<boolean> | undefined;
  const reload = async (): Promise<boolean> => {
    try {
      const now = stamp(await stat(path));
      if (now === seen) return false;
      entries = parseKnownHosts(await readFile(path, 'utf8'));
      seen = now;
      failing = false;
      return true;
    } catch (error) {
      if (!failing)
        onError(
          `known_hosts ${path} cannot be read again (${(error as NodeJS.ErrnoException).code}); keeping the keys read before`,
        );
      failing = true;
      return false;
    }
  };
  return {
    entries: () => entries,
    refresh() {
      // Handshakes at once share one stat.
      pending ??= reload().finally(() => {
        pending = undefined;
      });
      return pending;
    },
  };
}
