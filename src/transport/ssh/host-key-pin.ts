import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { HostKey } from './known-hosts.js';

/**
 * The accept-new pins kept in Redis: one hash `<prefix>:ssh-hostkeys`, field `host:port`, value
 * `<type> <base64> v1:<HMAC-SHA256 of host:port, type and key under the agents' secret>` (the secret never in Redis).
 * Shared by the verifier (agents) and `hostkeys list|forget` (admins).
 */
export const hostKeyPinsKey = (prefix: string): string => `${prefix}:ssh-hostkeys`;

export const pinId = (host: string, port: number): string => `${host.toLowerCase()}:${port}`;

function signPin(secret: Buffer, id: string, key: HostKey): string {
  const mac = createHmac('sha256', secret).update(
    `fleet-rollout host-key pin v1\n${id}\n${key.keyType} ${key.keyBase64}`,
  );
  return `v1:${mac.digest('base64')}`;
}

/** `<type> <base64> v1:<hmac>` → the key when its HMAC is right; `forged` when it is missing or wrong. */
export function parsePin(value: string | undefined, secret: Buffer, id: string): HostKey | 'forged' | undefined {
  if (value === undefined) return undefined;
  const [keyType, keyBase64, mac] = value.split(' ');
  if (!keyType || !keyBase64 || !mac) return 'forged';
  const expected = Buffer.from(signPin(secret, id, { keyType, keyBase64 }));
  const given = Buffer.from(mac);
  return expected.length === given.length && timingSafeEqual(expected, given) ? { keyType, keyBase64 } : 'forged';
}

export const formatPin = (secret: Buffer, id: string, key: HostKey): string =>
  `${key.keyType} ${key.keyBase64} ${signPin(secret, id, key)}`;

/** What `hostkeys list` shows of one pin (never the secret; the key's OpenSSH-style fingerprint, not its blob). */
export interface HostKeyPin {
  readonly host: string;
  readonly port: number;
  readonly keyType: string;
  /** `SHA256:…` as `ssh-keygen -lf` prints it. */
  readonly fingerprint: string;
  /** `valid`/`invalid` when the pin secret was given to check the signature, else `unchecked`. */
  readonly signature: 'valid' | 'invalid' | 'unchecked';
}

export function describePin(id: string, value: string, secret?: Buffer): HostKeyPin {
  const colon = id.lastIndexOf(':');
  const host = colon > 0 ? id.slice(0, colon) : id;
  const port = colon > 0 ? Number(id.slice(colon + 1)) : 22;
  const [keyType = '?', keyBase64 = ''] = value.split(' ');
  const digest = createHash('sha256').update(Buffer.from(keyBase64, 'base64')).digest('base64');
  const checked = secret === undefined ? undefined : parsePin(value, secret, id);
  return {
    host,
    port,
    keyType,
    fingerprint: `SHA256:${digest.replace(/=+$/, '')}`,
    signature: checked === undefined ? 'unchecked' : checked === 'forged' ? 'invalid' : 'valid',
  };
}

/** `host`, `host:port`, `[host]:port` (OpenSSH's form) or a bare IPv6 literal (port 22); undefined if malformed. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  const [host, portText] = bracketed
    ? [bracketed[1], bracketed[2]]
    : (text.match(/:/g) ?? []).length === 1
      ? text.split(':')
      : [text, undefined];
  const port = portText === undefined ? 22 : Number(portText);
  if (!host || /\s/.test(host) || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port };
}
