import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalTransport } from '../../src/transport/local/local-transport.js';
import { createHostKeyVerifier, parseKnownHosts } from '../../src/transport/ssh/index.js';
import { loadSshCredentials } from '../../src/transport/ssh/load-credentials.js';
import { createSshTransport, type SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import type { DeployTarget } from '../../src/transport/transport.js';
import { DEFAULT_SCRIPT_PATH } from '../../src/workers/transport-registry.js';
import { failureOf } from '../helpers/failure.js';
import {
  ensureTestAccount,
  generateKey,
  makeTempDir,
  makeWorkstation,
  Sshd,
  type Workstation,
} from '../helpers/sshd.js';

/** Faults on the workstation side that must be classified right: permanent ones once, transient ones retried. */
let sshd: Sshd;
let dir: string;
let ws: Workstation;
let transport: SshTransport;
const template = (root: string) =>
  `sh {script} --campaign {campaign} --user {user} --prf {prf} --office {office} --checksum {checksum} --root '${root}' {rollback}`;

function request(user: string, stagingDir: string) {
  const bytes = Buffer.from(`[General]\r\nProfileName=${user}\r\n`);
  const target: DeployTarget = {
    host: sshd.endpoints[0]!.host,
    port: sshd.endpoints[0]!.port,
    login: 'fleet-test',
    targetOs: 'posix',
    stagingDir,
    applyCommand: 'stand-in',
  };
  return {
    campaign: 'faults',
    user,
    office: '11.0' as const,
    artifact: { fileName: `${user}.prf`, bytes, sha256: createHash('sha256').update(bytes).digest('hex') },
    target,
    signal: new AbortController().signal,
  };
}

beforeAll(async () => {
  const account = ensureTestAccount();
  sshd = await Sshd.create({ addresses: ['127.0.0.14'] });
  dir = await makeTempDir('fleet-remote-faults-');
  const key = await generateKey(dir, 'deploy_key');
  await sshd.authorize([key.publicLine]);
  ws = await makeWorkstation(dir, sshd.endpoints[0]!);
  await writeFile(join(ws.root, '..', 'not-a-dir'), 'a file where the staging folder should be\n');
  await chown(join(ws.root, '..', 'not-a-dir'), account.uid, account.gid);
  transport = await createSshTransport({
    credentials: await loadSshCredentials({ keyPath: key.path }),
    hostKeys: createHostKeyVerifier({
      knownHosts: parseKnownHosts(sshd.knownHostsLine(sshd.endpoints[0]!)),
      policy: 'strict',
    }),
    applyAllowList: new Map([['stand-in', template(ws.root)]]),
    timeouts: { commandMs: 20_000 },
  });
});

afterAll(async () => {
  await transport?.close();
  await sshd?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('workstation faults', () => {
  it('a staging directory that is a file is a permanent FR_ERR_REMOTE_STAGING_NOT_DIR, not retried for days', async () => {
    const staging = join(ws.root, '..', 'not-a-dir');
    const failure = await failureOf(transport.apply(request('alice', staging)));
    expect(failure.code).toBe('FR_ERR_REMOTE_STAGING_NOT_DIR');
    expect(failure.retryable).toBe(false);
    expect(failure.message).toMatch(/not-a-dir on 127\.0\.0\.14 exists but is not a directory/);
    expect(await readFile(staging, 'utf8')).toBe('a file where the staging folder should be\n');
  });

  it('an apply process killed by a signal is a transient FR_ERR_REMOTE_KILLED (ssh), and succeeds on retry', async () => {
    await writeFile(join(ws.root, 'fault'), 'signal=KILL\ntimes=1\n');
    await rm(join(ws.root, 'fault.runs'), { force: true });
    const failure = await failureOf(transport.apply(request('bob', ws.staging)));
    expect(failure.code).toBe('FR_ERR_REMOTE_KILLED');
    expect(failure.retryable).toBe(true);
    expect(failure.message).toContain('SIGKILL');
    expect((await transport.apply(request('bob', ws.staging))).status).toBe('applied');
    await rm(join(ws.root, 'fault'), { force: true });
  });

  it('the same on the local transport (the process dies of the signal itself)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'fleet-local-killed-'));
    try {
      const local = createLocalTransport({ root, scriptPath: DEFAULT_SCRIPT_PATH });
      const host = 'ws-killed';
      await rm(join(root, host), { recursive: true, force: true });
      await mkdir(join(root, host), { recursive: true });
      await writeFile(join(root, host, 'fault'), 'signal=TERM\n');
      const base = request('carol', '/staging');
      const failure = await failureOf(local.apply({ ...base, target: { ...base.target, host } }));
      expect(failure.code).toBe('FR_ERR_REMOTE_KILLED');
      expect(failure.retryable).toBe(true);
      expect(existsSync(join(root, host, 'registry'))).toBe(false);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
