import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import type { ParsedKey } from 'ssh2';

/**
 * ssh2 defect (1.17 on Node 20 / OpenSSL 3): a parsed key signs by handing `crypto.sign` its PEM text, so OpenSSL
 * decodes the key again for every signature, once per SSH login. Measured here: 0.83 ms per ed25519 login signature
 * against 0.07 ms through a KeyObject made once (bench:realistic prints both), a tenth of the agent's CPU per workstation
 * when every user has their own. The workaround keeps ssh2's key and its behaviour and only swaps how it signs: the
 * same algorithm (the one asked for, else the key's own), the same return contract (a signature or an Error).
 * Anything unexpected (ssh2's internals changed, a key OpenSSL will not load) keeps ssh2's own signing.
 */
export function withReusedSigningKey(key: ParsedKey): ParsedKey {
  const keyHash = ownHashAlgorithm(key);
  let keyObject: KeyObject;
  try {
    if (keyHash === undefined) return key;
    keyObject = createPrivateKey(key.getPrivatePEM());
  } catch {
    return key;
  }
  const signer = Object.create(key) as ParsedKey;
  // ssh2 returns the Error instead of throwing it (its typings say Buffer only).
  signer.sign = ((data: Buffer | string, algo?: string): Buffer | Error => {
    try {
      return sign(algo || keyHash, typeof data === 'string' ? Buffer.from(data) : data, keyObject);
    } catch (error) {
      return error as Error;
    }
  }) as ParsedKey['sign'];
  return selfCheck(key, signer) ? signer : key;
}

/** ssh2 keeps the key's default hash (null for ed25519, sha1/sha256/… otherwise) under a private symbol. */
function ownHashAlgorithm(key: ParsedKey): string | null | undefined {
  const symbol = Object.getOwnPropertySymbols(key).find((s) => s.description === 'Hash Algorithm');
  if (symbol === undefined) return undefined;
  const value = (key as unknown as Record<symbol, unknown>)[symbol];
  return typeof value === 'string' || value === null ? value : undefined;
}

/** The swapped signer must produce what ssh2's own verify accepts for the key, or it is not used. */
function selfCheck(key: ParsedKey, signer: ParsedKey): boolean {
  const probe = Buffer.from('fleet-rollout signing self-check');
  const signature: Buffer | Error = signer.sign(probe);
  return !(signature instanceof Error) && key.verify(probe, signature) === true;
}
