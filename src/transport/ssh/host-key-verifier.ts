import type { HostKeyStore } from './host-key-store.js';
import { describeKeyBlob, type HostKey, type KnownHostEntry, lookUpKnownHost } from './known-hosts.js';

export type HostKeyPolicy = 'strict' | 'accept-new';
export type HostKeyVerdict = 'trusted' | 'pinned' | 'unknown' | 'changed' | 'revoked';

export interface HostKeyVerifierOptions {
  readonly knownHosts: readonly KnownHostEntry[];
  readonly policy: HostKeyPolicy;
  /** Required for accept-new: pins made on first use. */
  readonly store?: HostKeyStore;
}

export interface HostKeyVerifier {
  /** Decide on the key a host presented; `trusted`/`pinned` accept, anything else refuses. */
  verify(host: string, port: number, blob: Buffer): Promise<HostKeyVerdict>;
  /** Key types already known for the host, so the handshake can prefer them (as OpenSSH does). */
  knownKeyTypes(host: string, port: number): Promise<string[]>;
}

const sameKey = (a: HostKey, b: HostKey): boolean => a.keyType === b.keyType && a.keyBase64 === b.keyBase64;

function parsePin(value: string | undefined): HostKey | undefined {
  if (value === undefined) return undefined;
  const [keyType, keyBase64] = value.split(' ');
  return keyType && keyBase64 ? { keyType, keyBase64 } : undefined;
}

const pinId = (host: string, port: number): string => `${host.toLowerCase()}:${port}`;

/**
 * known_hosts first: a host listed there must present one of its keys (any other key = `changed`).
 * Unlisted hosts: `strict` refuses (`unknown`); `accept-new` pins the first key in the store and refuses
 * any later different key (`changed`) — never a silent accept.
 */
export function createHostKeyVerifier(options: HostKeyVerifierOptions): HostKeyVerifier {
  const { knownHosts, policy, store } = options;
  if (policy === 'accept-new' && store === undefined) throw new Error('accept-new needs a host key store');

  return {
    async verify(host, port, blob) {
      const presented = describeKeyBlob(blob);
      const listed = lookUpKnownHost(knownHosts, host, port);
      if (listed.revoked.some((k) => sameKey(k, presented))) return 'revoked';
      if (listed.accepted.length > 0) return listed.accepted.some((k) => sameKey(k, presented)) ? 'trusted' : 'changed';
      if (policy === 'strict' || store === undefined) return 'unknown';
      const id = pinId(host, port);
      const pinned = parsePin(await store.get(id));
      if (pinned) return sameKey(pinned, presented) ? 'pinned' : 'changed';
      if (await store.setIfAbsent(id, `${presented.keyType} ${presented.keyBase64}`)) return 'pinned';
      // Another agent pinned it at the same moment: compare with what won.
      const winner = parsePin(await store.get(id));
      return winner && sameKey(winner, presented) ? 'pinned' : 'changed';
    },
    async knownKeyTypes(host, port) {
      const listed = lookUpKnownHost(knownHosts, host, port).accepted.map((k) => k.keyType);
      if (listed.length > 0 || policy === 'strict' || store === undefined) return [...new Set(listed)];
      const pinned = parsePin(await store.get(pinId(host, port)));
      return pinned ? [pinned.keyType] : [];
    },
  };
}
