import { formatPin, parsePin, pinId } from './host-key-pin.js';
import type { HostKeyStore } from './host-key-store.js';
import { describeKeyBlob, type HostKey, indexKnownHosts, type KnownHostEntry } from './known-hosts.js';
import { fixedKnownHosts, type KnownHostsSource } from './load-known-hosts.js';

export type HostKeyPolicy = 'strict' | 'accept-new';
export type HostKeyVerdict = 'trusted' | 'pinned' | 'unknown' | 'changed' | 'revoked' | 'forged';

export interface HostKeyVerifierOptions {
  /** A list, or a file read again when it changes (openKnownHostsFile): checked at every handshake. */
  readonly knownHosts: readonly KnownHostEntry[] | KnownHostsSource;
  readonly policy: HostKeyPolicy;
  /** Required for accept-new: pins made on first use. */
  readonly store?: HostKeyStore;
  /**
   * Required for accept-new: the secret every agent holds (never Redis). Each pin carries an HMAC-SHA256 of
   * host, port and key under it, so a pin written into Redis by anyone else is refused (`forged`).
   */
  readonly pinSecret?: Buffer;
}

/** Pins shorter than this many secret bytes are refused at start-up (a guessable secret signs nothing). */
export const MIN_PIN_SECRET_BYTES = 16;

export interface HostKeyVerifier {
  /** Decide on the key a host presented; `trusted`/`pinned` accept, anything else refuses. */
  verify(host: string, port: number, blob: Buffer): Promise<HostKeyVerdict>;
  /** Key types already known for the host, so the handshake can prefer them (as OpenSSH does). */
  knownKeyTypes(host: string, port: number): Promise<string[]>;
}

const sameKey = (a: HostKey, b: HostKey): boolean => a.keyType === b.keyType && a.keyBase64 === b.keyBase64;

/**
 * known_hosts first: a host listed there must present one of its keys (any other key = `changed`).
 * Unlisted hosts: `strict` refuses (`unknown`); `accept-new` pins the first key in the store and refuses
 * any later different key (`changed`) — never a silent accept.
 */
export function createHostKeyVerifier(options: HostKeyVerifierOptions): HostKeyVerifier {
  const { knownHosts, policy, store, pinSecret } = options;
  if (policy === 'accept-new' && (store === undefined || pinSecret === undefined)) {
    throw new Error('accept-new needs a host key store and a pin secret');
  }
  const secret = pinSecret ?? Buffer.alloc(0);
  const source = 'refresh' in knownHosts ? knownHosts : fixedKnownHosts(knownHosts);
  // The index is rebuilt only when a refresh read a changed file (a new entries array).
  let indexed: { entries: readonly KnownHostEntry[]; lookUp: ReturnType<typeof indexKnownHosts> } | undefined;
  const lookUp = async (host: string, port: number) => {
    await source.refresh();
    const entries = source.entries();
    if (indexed?.entries !== entries) indexed = { entries, lookUp: indexKnownHosts(entries) };
    return indexed.lookUp(host, port);
  };

  return {
    async verify(host, port, blob) {
      const presented = describeKeyBlob(blob);
      const listed = await lookUp(host, port);
      if (listed.revoked.some((k) => sameKey(k, presented))) return 'revoked';
      if (listed.accepted.length > 0) return listed.accepted.some((k) => sameKey(k, presented)) ? 'trusted' : 'changed';
      if (policy === 'strict' || store === undefined) return 'unknown';
      const id = pinId(host, port);
      const pinned = parsePin(await store.get(id), secret, id);
      if (pinned === 'forged') return 'forged';
      if (pinned) return sameKey(pinned, presented) ? 'pinned' : 'changed';
      if (await store.setIfAbsent(id, formatPin(secret, id, presented))) return 'pinned';
      // Another agent pinned it at the same moment: compare with what won.
      const winner = parsePin(await store.get(id), secret, id);
      if (winner === 'forged') return 'forged';
      return winner && sameKey(winner, presented) ? 'pinned' : 'changed';
    },
    async knownKeyTypes(host, port) {
      const listed = (await lookUp(host, port)).accepted.map((k) => k.keyType);
      if (listed.length > 0 || policy === 'strict' || store === undefined) return [...new Set(listed)];
      const id = pinId(host, port);
      const pinned = parsePin(await store.get(id), secret, id);
      return pinned && pinned !== 'forged' ? [pinned.keyType] : [];
    },
  };
}
