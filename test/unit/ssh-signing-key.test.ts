import { readFile, rm } from 'node:fs/promises';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSshCredentials } from '../../src/transport/ssh/load-credentials.js';
import { withReusedSigningKey } from '../../src/transport/ssh/signing-key.js';
import { generateKey, makeTempDir } from '../helpers/sshd.js';

/**
 * The agent signs each SSH login with a key decoded once (signing-key.ts works around ssh2 decoding the PEM on every
 * signature). What a server would notice must not change: for every key type ssh-keygen makes, the signatures are
 * the ones ssh2's own key accepts, byte for byte where the algorithm is deterministic.
 */
let dir: string;
const data = Buffer.from('session id + userauth request, as ssh2 hands it to sign()');

const parse = (text: Buffer | string, passphrase?: string): ssh2.ParsedKey => {
  const parsed = ssh2.utils.parseKey(text, passphrase);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new Error(`key did not parse: ${String(key)}`);
  return key;
};

beforeAll(async () => {
  dir = await makeTempDir('fleet-signing-key-');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the agent signs SSH logins with its key decoded once', () => {
  it.each([
    ['ed25519', [undefined]],
    ['rsa', [undefined, 'sha256', 'sha512']],
    ['ecdsa', [undefined]],
  ] as const)(
    '%s: every signature verifies with ssh2, and ssh2 still takes it as its own key',
    async (type, algorithms) => {
      const file = await generateKey(dir, `id_${type}`, '', type);
      const original = parse(await readFile(file.path));
      const reused = withReusedSigningKey(original);
      expect(reused).not.toBe(original); // the workaround is in use for this type
      // ssh2 takes it as a parsed key and reads the same public key from it.
      expect(ssh2.utils.parseKey(reused as never)).toBe(reused);
      expect(reused.getPublicSSH().equals(original.getPublicSSH())).toBe(true);
      expect(reused.type).toBe(original.type);
      for (const algo of algorithms) {
        const signature = reused.sign(data, algo);
        expect(signature).toBeInstanceOf(Buffer);
        expect(original.verify(data, signature, algo)).toBe(true);
        expect(original.verify(Buffer.from('something else'), signature, algo)).toBe(false);
        // ed25519 and RSA PKCS#1 v1.5 are deterministic: the very bytes ssh2 would send.
        if (type !== 'ecdsa') expect(signature.equals(original.sign(data, algo))).toBe(true);
      }
    },
  );

  it('returns an Error as ssh2 does (never throws) for a hash the key cannot use', async () => {
    const file = await generateKey(dir, 'id_rsa_bad_hash', '', 'rsa');
    const reused = withReusedSigningKey(parse(await readFile(file.path)));
    expect(reused.sign(data, 'no-such-hash') as unknown).toBeInstanceOf(Error);
  });

  it('is what loadSshCredentials keeps, passphrase-protected keys included', async () => {
    const file = await generateKey(dir, 'id_locked', 'correct horse', 'ed25519');
    const { privateKey } = await loadSshCredentials({ keyPath: file.path, passphrase: 'correct horse' });
    expect(privateKey).toBeDefined();
    const original = parse(await readFile(file.path), 'correct horse');
    const signature = privateKey?.sign(data) as Buffer;
    expect(signature.equals(original.sign(data))).toBe(true);
    expect(Object.hasOwn(privateKey as object, 'sign')).toBe(true); // the reused signer, not ssh2's
  });
});
