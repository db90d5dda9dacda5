import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describePin, parseHostPort } from '../../src/transport/ssh/host-key-pin.js';
import { createMemoryHostKeyStore } from '../../src/transport/ssh/host-key-store.js';
import { createHostKeyVerifier } from '../../src/transport/ssh/host-key-verifier.js';
import {
  formatHostId,
  hashHostId,
  indexKnownHosts,
  lookUpKnownHost,
  matchesHost,
  parseKnownHosts,
} from '../../src/transport/ssh/known-hosts.js';
import { openKnownHostsFile } from '../../src/transport/ssh/load-known-hosts.js';

/** A syntactically valid SSH key blob of `type` (string type + random body), as a server would present it. */
function blob(type: string): Buffer {
  const name = Buffer.from(type);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(name.length);
  return Buffer.concat([length, name, randomBytes(32)]);
}

const SECRET = randomBytes(32);

const line = (hosts: string, key: Buffer, type = 'ssh-ed25519'): string => `${hosts} ${type} ${key.toString('base64')}`;

describe('known_hosts', () => {
  it('formats host ids like OpenSSH: bare on port 22, [host]:port otherwise', () => {
    expect(formatHostId('ws1.corp', 22)).toBe('ws1.corp');
    expect(formatHostId('10.0.0.5', 2222)).toBe('[10.0.0.5]:2222');
  });

  it('matches comma lists, wildcards, negations and hashed |1| entries', () => {
    expect(matchesHost('ws1,ws2.corp', 'ws2.corp')).toBe(true);
    expect(matchesHost('*.corp,!bad.corp', 'good.corp')).toBe(true);
    expect(matchesHost('*.corp,!bad.corp', 'bad.corp')).toBe(false);
    expect(matchesHost('ws?', 'ws12')).toBe(false);
    // Plain names (compared without a RegExp): whole name, case-insensitive, brackets and port included.
    expect(matchesHost('WS1.Corp', 'ws1.corp')).toBe(true);
    expect(matchesHost('ws1.corp', 'ws1.corp.evil')).toBe(false);
    expect(matchesHost('[127.0.0.2]:2201', '[127.0.0.2]:2201')).toBe(true);
    expect(matchesHost('[127.0.0.2]:2201', '[127.0.0.2]:22011')).toBe(false);
    expect(matchesHost('ws1,!ws1', 'ws1')).toBe(false);
    const hashed = hashHostId('[127.0.0.2]:2201', randomBytes(20));
    expect(matchesHost(hashed, '[127.0.0.2]:2201')).toBe(true);
    expect(matchesHost(hashed, '[127.0.0.2]:2202')).toBe(false);
  });

  it('answers from its index exactly what a pass over every line answers, in the file order', () => {
    const key = (): Buffer => blob('ssh-ed25519');
    const text = [
      line('ws1,WS2.corp', key()),
      line('[ws1]:2222', key(), 'ecdsa-sha2-nistp256'),
      line('*.corp,!bad.corp', key()),
      line(hashHostId('ws3', randomBytes(20)), key()),
      `@revoked ws9 ssh-ed25519 ${key().toString('base64')}`,
      line('ws?', key()),
      line('ws2.corp', key(), 'ssh-rsa'),
      line('!ws1,ws1', key()),
    ].join('\n');
    const entries = parseKnownHosts(text);
    const lookUp = indexKnownHosts(entries);
    const probes: Array<[string, number]> = [
      ['ws1', 22],
      ['ws1', 2222],
      ['ws2.corp', 22],
      ['Ws2.Corp', 22],
      ['bad.corp', 22],
      ['ws3', 22],
      ['ws4', 22],
      ['ws12', 22],
      ['nowhere', 22],
    ];
    for (const [host, port] of probes) expect(lookUp(host, port)).toEqual(lookUpKnownHost(entries, host, port));
    expect(lookUp('ws2.corp', 22).accepted.map((e) => e.keyType)).toEqual(['ssh-ed25519', 'ssh-ed25519', 'ssh-rsa']);
  });

  it('strict: trusts a listed key, calls another key for a listed host "changed", an unlisted host "unknown"', async () => {
    const key = blob('ssh-ed25519');
    const verifier = createHostKeyVerifier({
      knownHosts: parseKnownHosts(`# comment\n\n${line('[ws1]:2222', key)}\n@cert-authority *.corp ssh-ed25519 AAAA\n`),
      policy: 'strict',
    });
    expect(await verifier.verify('ws1', 2222, key)).toBe('trusted');
    expect(await verifier.verify('ws1', 2222, blob('ssh-ed25519'))).toBe('changed');
    expect(await verifier.verify('ws1', 22, key)).toBe('unknown');
    expect(await verifier.knownKeyTypes('ws1', 2222)).toEqual(['ssh-ed25519']);
  });

  it('never accepts a @revoked key', async () => {
    const key = blob('ssh-ed25519');
    const verifier = createHostKeyVerifier({
      knownHosts: parseKnownHosts(`${line('ws1', key)}\n@revoked * ssh-ed25519 ${key.toString('base64')}\n`),
      policy: 'strict',
    });
    expect(await verifier.verify('ws1', 22, key)).toBe('revoked');
  });

  it('accept-new pins the first key and refuses a different one later, even for another key type', async () => {
    const store = createMemoryHostKeyStore();
    const verifier = createHostKeyVerifier({ knownHosts: [], policy: 'accept-new', store, pinSecret: SECRET });
    const first = blob('ssh-ed25519');
    expect(await verifier.verify('laptop7', 22, first)).toBe('pinned');
    expect(await verifier.verify('laptop7', 22, first)).toBe('pinned');
    expect(await verifier.verify('laptop7', 22, blob('ssh-ed25519'))).toBe('changed');
    expect(await verifier.verify('laptop7', 22, blob('ecdsa-sha2-nistp256'))).toBe('changed');
    expect(await verifier.knownKeyTypes('laptop7', 22)).toEqual(['ssh-ed25519']);
  });

  it('accept-new still obeys known_hosts for the hosts it lists', async () => {
    const listed = blob('ssh-ed25519');
    const verifier = createHostKeyVerifier({
      knownHosts: parseKnownHosts(line('ws1', listed)),
      policy: 'accept-new',
      store: createMemoryHostKeyStore(),
      pinSecret: SECRET,
    });
    expect(await verifier.verify('ws1', 22, blob('ssh-ed25519'))).toBe('changed');
  });

  it('accept-new refuses a pin it did not sign: planted without a MAC, or signed with another secret', async () => {
    const store = createMemoryHostKeyStore();
    const key = blob('ssh-ed25519');
    const keyText = `ssh-ed25519 ${key.toString('base64')}`;
    await store.setIfAbsent('planted:22', keyText);
    const verifier = createHostKeyVerifier({ knownHosts: [], policy: 'accept-new', store, pinSecret: SECRET });
    expect(await verifier.verify('planted', 22, key)).toBe('forged');
    expect(await verifier.knownKeyTypes('planted', 22)).toEqual([]);
    const other = createHostKeyVerifier({ knownHosts: [], policy: 'accept-new', store, pinSecret: randomBytes(32) });
    expect(await other.verify('laptop9', 22, key)).toBe('pinned');
    // the same key, pinned under another fleet's secret: not trusted by this one
    expect(await verifier.verify('laptop9', 22, key)).toBe('forged');
    const mac = (await store.get('laptop9:22'))?.split(' ')[2];
    await store.setIfAbsent('moved:22', `${keyText} ${mac}`);
    // a valid MAC copied onto another host's field does not carry over (the host is in the MAC)
    expect(await verifier.verify('moved', 22, key)).toBe('forged');
  });

  it('reads known_hosts again when the file changes, and keeps the keys it had while the file cannot be read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-kh-'));
    const path = join(dir, 'known_hosts');
    const [old, fresh] = [blob('ssh-ed25519'), blob('ssh-ed25519')];
    await writeFile(path, `${line('ws1', old)}\n`);
    const warnings: string[] = [];
    const source = await openKnownHostsFile(path, (message) => warnings.push(message));
    const verifier = createHostKeyVerifier({ knownHosts: source, policy: 'strict' });
    try {
      expect(await verifier.verify('ws1', 22, fresh)).toBe('changed');
      await writeFile(path, `${line('ws1', fresh)}\n# edited\n`);
      expect(await verifier.verify('ws1', 22, fresh)).toBe('trusted');
      expect(await verifier.verify('ws1', 22, old)).toBe('changed');
      await rm(path);
      expect(await verifier.verify('ws1', 22, fresh)).toBe('trusted');
      expect(await verifier.verify('ws1', 22, fresh)).toBe('trusted');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('keeping the keys read before');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads HOST[:PORT] as OpenSSH writes it, and shows a pin by its SHA256 fingerprint', () => {
    expect(parseHostPort('ws1')).toEqual({ host: 'ws1', port: 22 });
    expect(parseHostPort('ws1:2222')).toEqual({ host: 'ws1', port: 2222 });
    expect(parseHostPort('[10.0.0.5]:2200')).toEqual({ host: '10.0.0.5', port: 2200 });
    expect(parseHostPort('fe80::1')).toEqual({ host: 'fe80::1', port: 22 });
    expect(parseHostPort('ws1:99999')).toBeUndefined();
    expect(parseHostPort('')).toBeUndefined();
    const key = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl', 'base64');
    const pin = describePin('ws1:22', `ssh-ed25519 ${key.toString('base64')} v1:xx`, SECRET);
    expect(pin).toMatchObject({ host: 'ws1', port: 22, keyType: 'ssh-ed25519', signature: 'invalid' });
    expect(pin.fingerprint).toBe('SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU'); // as ssh-keygen -lf prints it
    expect(describePin('ws1:22', 'ssh-ed25519 AAAA v1:x').signature).toBe('unchecked');
  });
});
