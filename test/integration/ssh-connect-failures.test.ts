import { createHash, randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import {
  createHostKeyVerifier,
  createRedisHostKeyStore,
  hashHostId,
  loadKnownHosts,
  loadSshCredentials,
} from '../../src/transport/ssh/index.js';
import type { SshCredentials } from '../../src/transport/ssh/options.js';
import { createSshTransport } from '../../src/transport/ssh/ssh-transport.js';
import type { DeployTarget } from '../../src/transport/transport.js';
import { failureOf } from '../helpers/failure.js';
import { connectTestRedis, createTestPrefix, deletePrefix } from '../helpers/redis.js';
import {
  type ClientKey,
  generateKey,
  makeTempDir,
  makeWorkstation,
  Sshd,
  type SshdEndpoint,
  type Workstation,
} from '../helpers/sshd.js';

const PASSPHRASE = `pass-${randomBytes(6).toString('hex')}`;
const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;
const PIN_SECRET = randomBytes(32);

let sshd: Sshd;
let dir: string;
let key: ClientKey;
let credentials: SshCredentials;
let redis: Redis;
let prefix: string;
const stations = new Map<SshdEndpoint, Workstation>();

function targetOf(endpoint: SshdEndpoint): DeployTarget {
  const ws = stations.get(endpoint)!;
  return {
    host: endpoint.host,
    port: endpoint.port,
    login: 'fleet-test',
    targetOs: 'posix',
    stagingDir: ws.staging,
    applyCommand: templateFor(ws),
  };
}

/** The stand-in needs its workstation root: a template each test agent allows (as --allow-apply-commands would). */
function templateFor(ws: Workstation): string {
  return `sh {script} --campaign {campaign} --user {user} --prf {prf} --office {office} --checksum {checksum} --root '${ws.root}' {rollback}`;
}

function allowList(): Map<string, string> {
  return new Map([...stations.values()].map((ws, i) => [`ws${i}`, templateFor(ws)]));
}

function request(endpoint: SshdEndpoint, user = 'alice') {
  const bytes = Buffer.from(`[General]\r\nProfileName=${user}\r\n`);
  return {
    campaign: 'connect-cases',
    user,
    office: '11.0' as const,
    artifact: { fileName: `${user}.prf`, bytes, sha256: createHash('sha256').update(bytes).digest('hex') },
    target: targetOf(endpoint),
    signal: new AbortController().signal,
  };
}

async function knownHostsFile(name: string, lines: string[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

beforeAll(async () => {
  sshd = await Sshd.create({ addresses: ['127.0.0.5', '127.0.0.6', '127.0.0.7'], passwordAuthentication: true });
  dir = await makeTempDir('fleet-ssh-connect-');
  key = await generateKey(dir, 'deploy_key', PASSPHRASE);
  await sshd.authorize([key.publicLine]);
  for (const endpoint of sshd.endpoints) stations.set(endpoint, await makeWorkstation(dir, endpoint));
  await writeFile(join(dir, 'passphrase'), `${PASSPHRASE}\n`);
  credentials = await loadSshCredentials({ keyPath: key.path, passphraseFile: join(dir, 'passphrase') });
  redis = connectTestRedis();
  prefix = createTestPrefix('ssh-connect');
});

afterAll(async () => {
  await sshd?.close();
  if (redis) {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  }
  // The folder holds a private key and its passphrase file: never leave them in /tmp.
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('ssh connection failures are classified', () => {
  it('sshd down → transient "connection refused"; started again → the same transport applies', async () => {
    const endpoint = sshd.endpoints[0]!;
    const known = await loadKnownHosts(await knownHostsFile('kh-down', [sshd.knownHostsLine(endpoint)]));
    const transport = await createSshTransport({
      applyAllowList: allowList(),
      credentials,
      hostKeys: createHostKeyVerifier({ knownHosts: known, policy: 'strict' }),
    });
    try {
      await sshd.stop();
      const refused = await failureOf(transport.apply(request(endpoint)));
      expect(refused.code).toBe('FR_ERR_SSH_CONNECT_REFUSED');
      expect(refused.retryable).toBe(true);
      await sshd.start();
      expect((await transport.apply(request(endpoint))).status).toBe('applied');
    } finally {
      await transport.close();
    }
  });

  it('a key the server does not know → permanent "authentication failed"', async () => {
    const endpoint = sshd.endpoints[0]!;
    const stranger = await generateKey(dir, 'stranger_key');
    const known = await loadKnownHosts(await knownHostsFile('kh-auth', [sshd.knownHostsLine(endpoint)]));
    const transport = await createSshTransport({
      applyAllowList: allowList(),
      credentials: await loadSshCredentials({ keyPath: stranger.path }),
      hostKeys: createHostKeyVerifier({ knownHosts: known, policy: 'strict' }),
    });
    try {
      const failure = await failureOf(transport.apply(request(endpoint)));
      expect(failure.code).toBe('FR_ERR_SSH_AUTH_FAILED');
      expect(failure.retryable).toBe(false);
      expect(failure.message).toContain('authentication failed');
    } finally {
      await transport.close();
    }
  });

  it('accept-new pins the key in Redis; a replaced host key is a permanent "host key changed", pin kept', async () => {
    const endpoint = sshd.endpoints[1]!;
    const pins = `${prefix}:hostkeys`;
    const transport = await createSshTransport({
      applyAllowList: allowList(),
      credentials,
      hostKeys: createHostKeyVerifier({
        knownHosts: [],
        policy: 'accept-new',
        store: createRedisHostKeyStore(redis, pins),
        pinSecret: PIN_SECRET,
      }),
      timeouts: { idleCloseMs: 50 },
    });
    try {
      expect((await transport.apply(request(endpoint))).status).toBe('applied');
      const pinned = await redis.hget(pins, `${endpoint.host}:${endpoint.port}`);
      // `<type> <base64> v1:<HMAC>`: signed with the agents' secret, which Redis never sees
      const [type, base64, mac, ...rest] = (pinned ?? '').split(' ');
      expect(`${type} ${base64}`).toBe(sshd.hostKey.publicLine.split(' ').slice(0, 2).join(' '));
      expect(mac).toMatch(/^v1:[A-Za-z0-9+/]{43}=$/);
      expect(rest).toEqual([]);

      sshd.killSessions();
      await sshd.stop();
      await sshd.replaceHostKey();
      await sshd.start();
      const changed = await failureOf(transport.apply(request(endpoint, 'bob')));
      expect(changed.code).toBe('FR_ERR_SSH_HOSTKEY_CHANGED');
      expect(changed.message).toContain('host key changed');
      expect(changed.retryable).toBe(false);
      expect(await redis.hget(pins, `${endpoint.host}:${endpoint.port}`)).toBe(pinned);
    } finally {
      await transport.close();
    }
  });

  it('strict: a host missing from known_hosts is refused as unknown; a listed host with another key as changed', async () => {
    const endpoint = sshd.endpoints[2]!;
    const other = sshd.endpoints[1]!;
    const known = await loadKnownHosts(await knownHostsFile('kh-strict', [sshd.knownHostsLine(other)]));
    const strict = await createSshTransport({
      applyAllowList: allowList(),
      credentials,
      hostKeys: createHostKeyVerifier({ knownHosts: known, policy: 'strict' }),
    });
    const wrong = (await generateKey(dir, 'not_the_host_key')).publicLine.split(' ');
    const mismatched = await loadKnownHosts(
      await knownHostsFile('kh-wrong', [`[${endpoint.host}]:${endpoint.port} ${wrong[0]} ${wrong[1]}`]),
    );
    const listedWrong = await createSshTransport({
      applyAllowList: allowList(),
      credentials,
      hostKeys: createHostKeyVerifier({
        knownHosts: mismatched,
        policy: 'accept-new',
        store: createRedisHostKeyStore(redis, `${prefix}:unused`),
        pinSecret: PIN_SECRET,
      }),
    });
    try {
      const unknown = await failureOf(strict.apply(request(endpoint)));
      expect(unknown.code).toBe('FR_ERR_SSH_HOSTKEY_UNKNOWN');
      expect(unknown.retryable).toBe(false);
      const changed = await failureOf(listedWrong.apply(request(endpoint)));
      expect(changed.code).toBe('FR_ERR_SSH_HOSTKEY_CHANGED');
    } finally {
      await strict.close();
      await listedWrong.close();
    }
  });

  it('accepts hashed |1| entries and [host]:port entries from known_hosts', async () => {
    const hashedEndpoint = sshd.endpoints[2]!;
    const plainEndpoint = sshd.endpoints[0]!;
    const [type, base64] = sshd.hostKey.publicLine.split(' ');
    const hashed = `${hashHostId(`[${hashedEndpoint.host}]:${hashedEndpoint.port}`, randomBytes(20))} ${type} ${base64}`;
    const known = await loadKnownHosts(
      await knownHostsFile('kh-hashed', ['# comment', hashed, sshd.knownHostsLine(plainEndpoint)]),
    );
    const transport = await createSshTransport({
      applyAllowList: allowList(),
      credentials,
      hostKeys: createHostKeyVerifier({ knownHosts: known, policy: 'strict' }),
    });
    try {
      expect((await transport.apply(request(hashedEndpoint, 'hashed-user'))).status).toBe('applied');
      expect((await transport.apply(request(plainEndpoint, 'plain-user'))).status).toBe('applied');
    } finally {
      await transport.close();
    }
  });

  it('never lets the key passphrase or the password reach a log line or an error', async () => {
    const endpoint = sshd.endpoints[0]!;
    await writeFile(join(dir, 'password'), `${PASSWORD}\n`);
    const captured: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        captured.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = createLogger({ level: 'debug', destination: sink });
    const known = await loadKnownHosts(await knownHostsFile('kh-secrets', [sshd.knownHostsLine(endpoint)]));
    const hostKeys = createHostKeyVerifier({ knownHosts: known, policy: 'strict' });
    const withSecrets = await loadSshCredentials({
      keyPath: key.path,
      passphrase: PASSPHRASE,
      passwordFile: join(dir, 'password'),
    });
    const passwordOnly = await loadSshCredentials({ passwordFile: join(dir, 'password') });
    const errors: string[] = [];
    const good = await createSshTransport({ applyAllowList: allowList(), credentials: withSecrets, hostKeys, logger });
    const bad = await createSshTransport({ applyAllowList: allowList(), credentials: passwordOnly, hostKeys, logger });
    try {
      const outcome = await good.apply(request(endpoint, 'secret-check'));
      logger.info({ outcome, credentials: withSecrets }, 'deployed');
      const failure = await failureOf(bad.apply(request(endpoint, 'secret-check')));
      expect(failure.code).toBe('FR_ERR_SSH_AUTH_FAILED');
      logger.warn({ err: failure }, 'deploy failed');
      errors.push(failure.message, JSON.stringify(failure), String(failure.stack));
      const wrongPassphrase = await failureOf(loadSshCredentials({ keyPath: key.path, passphrase: `${PASSPHRASE}x` }));
      expect(wrongPassphrase.code).toBe('FR_ERR_CONFIG_INVALID');
      errors.push(wrongPassphrase.message, JSON.stringify(wrongPassphrase));
    } finally {
      await good.close();
      await bad.close();
    }
    logger.flush();
    const everything = [...captured, ...errors].join('\n');
    expect(captured.join('')).toContain('ssh connect');
    expect(everything).not.toContain(PASSPHRASE);
    expect(everything).not.toContain(PASSWORD);
  });
});
