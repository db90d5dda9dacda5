import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, chmod, chown, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostKeyVerifier, parseKnownHosts } from '../../src/transport/ssh/index.js';
import { loadSshCredentials } from '../../src/transport/ssh/load-credentials.js';
import { createSshTransport, type SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import type { DeployTarget } from '../../src/transport/transport.js';
import { failureOf } from '../helpers/failure.js';
import {
  ensureTestAccount,
  generateKey,
  makeTempDir,
  makeWorkstation,
  Sshd,
  type Workstation,
} from '../helpers/sshd.js';

/**
 * Each Windows-side outcome of the remote contract (docs/remote-contract.md §4-§5), driven end to end through the
 * SSH transport against a real sshd, with the POSIX stand-in simulating the Windows state by marker files.
 */
const CAMPAIGN = 'pilot';
/** Prints a forged result line (the braces are printf octal escapes: the template grammar keeps braces for placeholders). */
const HOSTILE = `printf '\\173"status":"applied","officeVersion":"=1+1\\\\u0000\\\\n","backup":"\\\\u001b[31mred"\\175\\n' {script} {prf} {user} {office} {campaign} {checksum} {rollback}`;
const SETUP = 'Software/Microsoft/Office/11.0/Outlook/Setup';

let sshd: Sshd;
let dir: string;
let ws: Workstation;
let transport: SshTransport;
let target: DeployTarget;

function artifactOf(user: string) {
  const bytes = Buffer.from(`[General]\r\nProfileName=${user}\r\n`, 'latin1');
  return { fileName: `${user}.prf`, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

function apply(user: string, options: { stageWhileRunning?: boolean; via?: DeployTarget } = {}) {
  return transport.apply({
    campaign: CAMPAIGN,
    user,
    office: '11.0',
    artifact: artifactOf(user),
    target: options.via ?? target,
    signal: new AbortController().signal,
    ...(options.stageWhileRunning !== undefined && { stageWhileRunning: options.stageWhileRunning }),
  });
}

function rollback(user: string) {
  return transport.rollback({
    campaign: CAMPAIGN,
    user,
    office: '11.0',
    fileName: `${user}.prf`,
    target,
    signal: new AbortController().signal,
  });
}

const inspect = (user: string) => ({
  campaign: CAMPAIGN,
  user,
  office: '11.0' as const,
  fileName: `${user}.prf`,
  target,
  signal: new AbortController().signal,
});

/** A marker file of the simulated workstation (owned by the login, as the stand-in would see it). */
async function mark(name: string, text = ''): Promise<void> {
  await writeFile(join(ws.root, name), text);
}

async function unmark(...names: string[]): Promise<void> {
  for (const name of names) await rm(join(ws.root, name), { force: true, recursive: true });
}

/** What the test writes under the workstation belongs to the login, as if the stand-in had written it. */
async function own(path: string): Promise<void> {
  const { uid, gid } = ensureTestAccount();
  await chown(path, uid, gid);
  if ((await stat(path)).isDirectory()) for (const entry of await readdir(path)) await own(join(path, entry));
}

const value = (user: string, name: string): Promise<string | undefined> =>
  readFile(join(ws.root, 'registry', user, SETUP, name), 'utf8').then(
    (text) => text.replace(/\n$/, ''),
    () => undefined,
  );

beforeAll(async () => {
  ensureTestAccount();
  sshd = await Sshd.create({ addresses: ['127.0.0.5'] });
  dir = await makeTempDir('fleet-ssh-windows-');
  const key = await generateKey(dir, 'deploy_key');
  await sshd.authorize([key.publicLine]);
  const endpoint = sshd.endpoints[0]!;
  ws = await makeWorkstation(dir, endpoint);
  const credentials = await loadSshCredentials({ keyPath: key.path });
  const hostKeys = createHostKeyVerifier({
    knownHosts: parseKnownHosts(sshd.knownHostsLine(endpoint)),
    policy: 'strict',
  });
  const applyCommand = `sh {script} --campaign {campaign} --user {user} --prf {prf} --office {office} --checksum {checksum} --root '${ws.root}' {rollback}`;
  // What the agent may run is its own decision (docs/security.md): these tests' agent allows the stand-in with its
  // workstation root, and a hostile command that prints a forged result line.
  const applyAllowList = new Map([
    ['stand-in', applyCommand],
    ['hostile', HOSTILE],
  ]);
  transport = await createSshTransport({ credentials, hostKeys, applyAllowList, timeouts: { commandMs: 20_000 } });
  target = {
    host: endpoint.host,
    port: endpoint.port,
    login: 'fleet-test',
    targetOs: 'posix',
    stagingDir: ws.staging,
    applyCommand,
  };
});

afterAll(async () => {
  await transport?.close();
  await sshd?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Windows-side outcomes over a real sshd (POSIX stand-in)', () => {
  it('unloads a stale HKU\\FleetRollout_* mount left by a killed run, then applies', async () => {
    await mkdir(join(ws.root, 'hku'), { recursive: true });
    await writeFile(join(ws.root, 'hku', 'FleetRollout_S-1-5-21-1-2-3-1001'), '');
    await own(join(ws.root, 'hku'));
    const outcome = await apply('stale');
    expect(outcome.status).toBe('applied');
    expect(existsSync(join(ws.root, 'hku', 'FleetRollout_S-1-5-21-1-2-3-1001'))).toBe(false);
  });

  it('a hive that cannot be unloaded is its own permanent failure (exit 71), also for a stale mount', async () => {
    await mark('unload-fails');
    try {
      const failure = await failureOf(apply('unloadfail'));
      expect(failure.code).toBe('FR_ERR_REMOTE_HIVE_UNLOAD_FAILED');
      expect(failure.retryable).toBe(false);
      expect(failure.details['exitCode']).toBe(71);
      expect(failure.message).toContain('TEMP profile');
      expect(await value('unloadfail', 'ImportPRF')).toBeDefined();
      // Logged on: the live HKU\<SID> is used, nothing is mounted, nothing to unload.
      await mark('logged-on', 'loggedon\n');
      expect((await apply('loggedon')).status).toBe('applied');
      await mkdir(join(ws.root, 'hku'), { recursive: true });
      await writeFile(join(ws.root, 'hku', 'FleetRollout_S-1-5-21-9'), '');
      await own(join(ws.root, 'hku'));
      const stale = await failureOf(apply('loggedon2'));
      expect(stale.code).toBe('FR_ERR_REMOTE_HIVE_UNLOAD_FAILED');
      expect(await value('loggedon2', 'ImportPRF')).toBeUndefined();
    } finally {
      await unmark('unload-fails', 'logged-on', 'hku');
    }
  });

  it('a key that exists but cannot be exported stops the apply before anything changes (exit 74)', async () => {
    const setup = join(ws.root, 'registry', 'exportfail', SETUP);
    await mkdir(setup, { recursive: true });
    await writeFile(join(setup, 'ImportPRF'), 'C:\\old.prf\n');
    await writeFile(join(setup, 'FirstRun'), '1\n');
    await own(join(ws.root, 'registry'));
    await mark('export-fails');
    try {
      const failure = await failureOf(apply('exportfail'));
      expect(failure.code).toBe('FR_ERR_REMOTE_BACKUP_FAILED');
      expect(failure.retryable).toBe(false);
      expect(await value('exportfail', 'ImportPRF')).toBe('C:\\old.prf');
      expect(await value('exportfail', 'FirstRun')).toBe('1');
      expect(existsSync(join(ws.staging, CAMPAIGN, 'exportfail.backup.reg'))).toBe(false);
    } finally {
      await unmark('export-fails');
    }
    // Once the export works, the backup is taken first and a rollback restores the user's old values.
    expect((await apply('exportfail')).status).toBe('applied');
    expect((await rollback('exportfail')).status).toBe('rolled-back');
    expect(await value('exportfail', 'ImportPRF')).toBe('C:\\old.prf');
    expect(await value('exportfail', 'FirstRun')).toBe('1');
  });

  it('a rollback with no backup of this campaign answers nothing-to-restore, not rolled-back', async () => {
    const outcome = await rollback('neverapplied');
    expect(outcome.status).toBe('nothing-to-restore');
  });

  it('Outlook running: exit 75 by default; staged as applied-pending-restart when the campaign allows it', async () => {
    await mark('outlook-running', 'busy\n');
    try {
      const busy = await failureOf(apply('busy'));
      expect(busy.code).toBe('FR_ERR_REMOTE_TEMPORARY');
      expect(busy.retryable).toBe(true);
      expect(await value('busy', 'ImportPRF')).toBeUndefined();
      const staged = await apply('busy', { stageWhileRunning: true });
      expect(staged.status).toBe('applied-pending-restart');
      expect(await value('busy', 'ImportPRF')).toBe(join(ws.staging, CAMPAIGN, 'busy.prf'));
      // Verify says it is not consumed yet: ImportPRF waits for Outlook's next clean start.
      expect((await transport.verify({ ...inspect('busy'), checksum: artifactOf('busy').sha256 })).status).toBe(
        'pending',
      );
    } finally {
      await unmark('outlook-running');
    }
  });

  it('refuses to run from a staging tree other accounts may write (exit 78), and probe reports it', async () => {
    expect((await apply('aclcheck')).status).toBe('applied');
    const mode = (await stat(ws.staging)).mode;
    await chmod(ws.staging, 0o777);
    try {
      const failure = await failureOf(apply('aclcheck2'));
      expect(failure.code).toBe('FR_ERR_REMOTE_STAGING_UNSAFE');
      expect(failure.retryable).toBe(false);
      expect(await value('aclcheck2', 'ImportPRF')).toBeUndefined();
      expect((await transport.probe(inspect('aclcheck2'))).staging).toBe('unsafe');
    } finally {
      await chmod(ws.staging, mode & 0o777);
    }
    expect((await transport.probe(inspect('aclcheck2'))).staging).toBe('safe');
  });

  it('never runs a script swapped after the push: the hash is re-checked right before each run', async () => {
    expect((await apply('swap1')).status).toBe('applied');
    // Same connection (the push is done once per connection): a user who could write .fleet swaps the script.
    const script = join(ws.staging, '.fleet', 'apply-profile.sh');
    const original = await readFile(script);
    await appendFile(script, '\ntouch "$HOME/swapped-ran"\n');
    try {
      const failure = await failureOf(apply('swap2'));
      expect(failure.code).toBe('FR_ERR_REMOTE_STAGING_UNSAFE');
      expect(failure.message).toContain('the apply script changed after upload');
      expect(await value('swap2', 'ImportPRF')).toBeUndefined();
      expect(existsSync(join(ensureTestAccount().home, 'swapped-ran'))).toBe(false);
    } finally {
      await writeFile(script, original);
    }
  });

  it('takes the exit code from the JSON when the remote shell collapses it to 1 (PowerShell DefaultShell)', async () => {
    await mark('collapse-exit');
    await mark('fault', 'exit=75\nuser=collapsed\n');
    try {
      const failure = await failureOf(apply('collapsed'));
      // The process exited 1; the JSON said 75: still the transient "busy", retried, not a permanent failure.
      expect(failure.code).toBe('FR_ERR_REMOTE_TEMPORARY');
      expect(failure.retryable).toBe(true);
      expect(failure.details['exitCode']).toBe(75);
      const probe = await transport.probe(inspect('collapsed'));
      expect(probe.exitPassThrough).toBe(false);
    } finally {
      await unmark('collapse-exit', 'fault');
    }
    expect((await transport.probe(inspect('collapsed'))).exitPassThrough).toBe(true);
  });

  it('probe is read-only and reports shell, staging, Office, Outlook, profile and override values', async () => {
    await mark('installed-office', '11.0\n16.0\n');
    await mark('overrides', 'ZeroConfigExchange=1\nExcludeScpLookup=1\n');
    await mark('outlook-running', 'prober\n');
    try {
      const report = await transport.probe(inspect('prober'));
      expect(report).toMatchObject({
        staging: 'safe',
        defaultShell: 'sh',
        exitPassThrough: true,
        officeInstalled: ['11.0', '16.0'],
        officeMatches: true,
        outlookRunning: true,
        profile: 'absent',
        overrides: { ZeroConfigExchange: '1', ExcludeScpLookup: '1' },
      });
      expect(existsSync(join(ws.root, 'registry', 'prober'))).toBe(false);
      expect(existsSync(join(ws.staging, CAMPAIGN, 'prober.prf'))).toBe(false);
    } finally {
      await unmark('installed-office', 'overrides', 'outlook-running');
    }
  });

  it('verify tells verified from pending and from a profile that did not take the proxy', async () => {
    const user = 'verifyme';
    const { sha256 } = artifactOf(user);
    expect((await apply(user)).status).toBe('applied');
    const request = { ...inspect(user), checksum: sha256, expectProxy: 'mail.contoso.com', expectFlags: '0x0023' };
    expect((await transport.verify(request)).status).toBe('pending');
    // What Outlook does at its next start: consume ImportPRF, recreate FirstRun, build the profile.
    const outlook = join(ws.root, 'registry', user, 'Software/Microsoft/Office/11.0/Outlook');
    await rm(join(outlook, 'Setup', 'ImportPRF'));
    await writeFile(join(outlook, 'Setup', 'FirstRun'), '1\n');
    await mkdir(join(outlook, 'Profile'), { recursive: true });
    await writeFile(join(outlook, 'Profile', 'RPCProxyServer'), 'mail.contoso.com\n');
    await writeFile(join(outlook, 'Profile', 'RPCoverHTTPflags'), '0x0023\n');
    expect(await transport.verify(request)).toEqual({
      status: 'verified',
      reason: 'Outlook consumed the PRF and the profile holds the expected settings',
    });
    const other = await transport.verify({ ...request, expectProxy: 'other.contoso.com' });
    expect(other.status).toBe('not-taken');
    expect(other.reason).toContain('RPCProxyServer');
  });

  it('a DOMAIN\\user is staged as DOMAIN+user.prf and reaches the script as one literal argument', async () => {
    const user = 'CORP\\adupont';
    const artifact = { ...artifactOf(user), fileName: 'CORP+adupont.prf' };
    const outcome = await transport.apply({
      campaign: CAMPAIGN,
      user,
      office: '11.0',
      artifact,
      target,
      signal: new AbortController().signal,
    });
    expect(outcome.status).toBe('applied');
    expect(await value('CORP+adupont', 'ImportPRF')).toBe(join(ws.staging, CAMPAIGN, 'CORP+adupont.prf'));
  });

  it('a hostile result line never reaches a record raw: control characters and terminal escapes are escaped', async () => {
    const hostile = {
      ...target,
      applyCommand: HOSTILE,
    };
    const failure = await failureOf(apply('hostile', { via: hostile }));
    expect(failure.code).toBe('FR_ERR_REMOTE_PROTOCOL');
    expect(failure.message).toContain('officeVersion');
    expect(failure.message).not.toMatch(/[\u0000-\u001f\u007f]/);
    expect(failure.message).toContain('\\x00');
  });
});
