import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * OpenSSH known_hosts, parsed once: plain host patterns (with `*`, `?`, `!negation`, comma lists),
 * `[host]:port` entries and hashed `|1|salt|hash` entries (HMAC-SHA1 of the host identity).
 * `@cert-authority` lines are ignored (we do not accept host certificates); `@revoked` keys are never accepted.
 */
export interface KnownHostEntry {
  readonly marker?: 'revoked';
  /** Comma-separated patterns, or one hashed `|1|salt|hash` token. */
  readonly hosts: string;
  readonly keyType: string;
  /** base64 of the key blob, as in the file. */
  readonly keyBase64: string;
}

export interface HostKey {
  readonly keyType: string;
  readonly keyBase64: string;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    let fields = line.split(/\s+/);
    let marker: 'revoked' | undefined;
    if (fields[0]?.startsWith('@')) {
      if (fields[0] !== '@revoked') continue;
      marker = 'revoked';
      fields = fields.slice(1);
    }
    const [hosts, keyType, keyBase64] = fields;
    if (hosts === undefined || keyType === undefined || keyBase64 === undefined) continue;
    entries.push({ marker, hosts, keyType, keyBase64 });
  }
  return entries;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function formatHostId(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function matchesWildcard(pattern: string, name: string): boolean {
  // Most patterns are plain names: compare them without building a RegExp, which every connection would otherwise
  // do for every line of known_hosts (measured: 7% of the agent's CPU with 512 hosts, bench/realistic-ssh.bench.ts).
  if (!pattern.includes('*') && !pattern.includes('?')) {
    return pattern.length === name.length && pattern.toLowerCase() === name.toLowerCase();
  }
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i').test(name);
}

function matchesHashed(token: string, name: string): boolean {
  const parts = token.split('|');
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2] ?? '', 'base64');
  const expected = Buffer.from(parts[3] ?? '', 'base64');
  const actual = createHmac('sha1', salt).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** True when the entry's host field names `hostId` (negated patterns win, like OpenSSH). */
export function matchesHost(hosts: string, hostId: string): boolean {
  if (hosts.startsWith('|')) return matchesHashed(hosts, hostId);
  let matched = false;
  for (const pattern of hosts.split(',')) {
    if (pattern.startsWith('!')) {
      if (matchesWildcard(pattern.slice(1), hostId)) return false;
    } else if (matchesWildcard(pattern, hostId)) {
      matched = true;
    }
  }
  return matched;
}

export interface KnownHostsLookup {
  readonly accepted: readonly HostKey[];
  readonly revoked: readonly HostKey[];
}

/** Keys listed for one host:port. */
export function lookUpKnownHost(entries: readonly KnownHostEntry[], host: string, port: number): KnownHostsLookup {
  const hostId = formatHostId(host, port);
  const accepted: HostKey[] = [];
  const revoked: HostKey[] = [];
  for (const entry of entries) {
    if (entry.marker === 'revoked') {
      // A revoked key is refused whichever host presents it.
      revoked.push(entry);
    } else if (matchesHost(entry.hosts, hostId)) {
      accepted.push(entry);
    }
  }
  return { accepted, revoked };
}

/**
 * lookUpKnownHost over an index built once: lines naming plain hosts are found by name, so a connection costs a map
 * read, not a pass over every line (known_hosts of a whole fleet: thousands of lines, two look-ups per connection).
 * Hashed, wildcard and negated lines are still matched one by one; the answer keeps the file's order.
 */
export function indexKnownHosts(entries: readonly KnownHostEntry[]): (host: string, port: number) => KnownHostsLookup {
  const byName = new Map<string, number[]>();
  const others: number[] = [];
  const revoked = entries.filter((e) => e.marker === 'revoked');
  entries.forEach((entry, index) => {
    if (entry.marker === 'revoked') return;
    if (/^\||[*?!]/.test(entry.hosts)) {
      others.push(index);
      return;
    }
    for (const name of new Set(entry.hosts.toLowerCase().split(','))) {
      const list = byName.get(name);
      if (list) list.push(index);
      else byName.set(name, [index]);
    }
  });
  return (host, port) => {
    const hostId = formatHostId(host, port);
    const found = [...(byName.get(hostId.toLowerCase()) ?? [])];
    for (const index of others) if (matchesHost((entries[index] as KnownHostEntry).hosts, hostId)) found.push(index);
    found.sort((a, b) => a - b);
    return { accepted: found.map((index) => entries[index] as KnownHostEntry), revoked };
  };
}

/** Key type and base64 of a raw SSH public key blob (the first field of the blob is its type). */
export function describeKeyBlob(blob: Buffer): HostKey {
  const length = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  const keyType = blob.subarray(4, 4 + length).toString('latin1');
  return { keyType, keyBase64: blob.toString('base64') };
}

/** Create a hashed host field `|1|salt|hash` (used by tests and `ssh-keygen -H`-style output). */
export function hashHostId(hostId: string, salt: Buffer): string {
  const hash = createHmac('sha1', salt).update(hostId).digest('base64');
  return `|1|${salt.toString('base64')}|${hash}`;
}
