import { createHmac, timingSafeEqual } from 'node:crypto';
import type { HostKeyStore } from './host-key-store.js';
import { describeKeyBlob, type HostKey, indexKnownHosts, type KnownHostEntry } from './known-hosts.js';

export type HostKeyPolicy = 'strict' | 'accept-new';
export type HostKeyVerdict = 'trusted' | 'pinned' | 'unknown' | 'changed' | 'revoked' | 'forged';

export interface HostKeyVerifierOptions {
  readonly knownHosts: readonly KnownHostEntry[];
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

function signPin(secret: Buffer, id: string, key: HostKey): string {
  const mac = createHmac('sha256', secret).update(
    `fleet-rollout host-key pin v1\n${id}\n${key.keyType} ${key.keyBase64}`,
  );
  return `v1:${mac.digest('base64')}`;
}

/** `<type> <base64> v1:<hmac>` → the key when its HMAC is right; `forged` when it is missing or wrong. */
function parsePin(value: string | undefined, secret: Buffer, id: string): HostKey | 'forged' | undefined {
  if (value === undefined) return undefined;
  const [keyType, keyBase64, mac] = value.split(' ');
  if (!keyType || !keyBase64 || !mac) return 'forged';
  const expected = Buffer.from(signPin(secret, id, { keyType, keyBase64 }));
  const given = Buffer.from(mac);
  return expected.length === given.length && timingSafeEqual(expected, given) ? { keyType, keyBase64 } : 'forged';
}

const formatPin = (secret: Buffer, id: string, key: HostKey): string =>
  `${key.keyType} ${key.keyBase64} ${signPin(secret, id, key)}`;

const pinId = (host: string, port: number): string => `${host.toLowerCase()}:${port}`;

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
  const lookUp = indexKnownHosts(knownHosts);

  return {
    async verify(host, port, blob) {
      const presented = describeKeyBlob(blob);
      const listed = lookUp(host, port);
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
      const listed = lookUp(host, port).accepted.map((k) => k.keyType);
      if (listed.length > 0 || policy === 'strict' || store === undefined) return [...new Set(listed)];
      const id = pinId(host, port);
      const pinned = parsePin(await store.get(id), secret, id);
      return pinned && pinned !== 'forged' ? [pinned.keyType] : [];
    },
  };
}
