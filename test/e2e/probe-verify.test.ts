import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignFileSchema } from '../../src/config/campaign-schema.js';
import { toProfileOptions } from '../../src/config/campaign-settings.js';
import type { UserSpec } from '../../src/csv/user-spec.js';
import { renderProfile } from '../../src/profile/index.js';
import { createRecordStore } from '../../src/store/record-store.js';
import { createVerificationStore } from '../../src/store/verification-store.js';
import { createLocalTransport } from '../../src/transport/local/local-transport.js';
import { connectTestRedis, createTestPrefix, deletePrefix, TEST_REDIS_URL } from '../helpers/redis.js';
import {
  ensureTestAccount,
  generateKey,
  makeTempDir,
  makeWorkstation,
  Sshd,
  type Workstation,
} from '../helpers/sshd.js';

/** `probe` and `verify` of the built CLI: probe over a real sshd, verify against simulated workstations. */
const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const SCRIPT = join(ROOT, 'agent/posix/apply-profile.sh');
const prefix = createTestPrefix('probe-verify');
let work: string;
let redis: Redis;
let sshd: Sshd;
let ws: Workstation;
let keyPath: string;

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: work,
    encoding: 'utf8',
    env: { ...process.env, REDIS_URL: TEST_REDIS_URL, FLEET_PREFIX: prefix, FLEET_DEBUG: '', SSH_AUTH_SOCK: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  ensureTestAccount();
  work = await makeTempDir('fleet-e2e-probe-');
  redis = connectTestRedis();
  sshd = await Sshd.create({ addresses: ['127.0.0.6'] });
  const key = await generateKey(work, 'deploy_key');
  keyPath = key.path;
  await sshd.authorize([key.publicLine]);
  ws = await makeWorkstation(work, sshd.endpoints[0]!);
  writeFileSync(join(work, 'known_hosts'), `${sshd.knownHostsLine(sshd.endpoints[0]!)}\n`);
});

afterAll(async () => {
  await sshd?.close();
  await deletePrefix(redis, prefix);
  await redis.quit();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('fleet-rollout probe', () => {
  it('probes each user read-only over SSH and sums up ready / unreachable / skipped by policy / staging unsafe', async () => {
    const { port } = sshd.endpoints[0]!;
    // A second staging folder, writable by everyone: the "unsafe" site.
    const unsafe = join(ws.staging, '..', 'unsafe-staging');
    await mkdir(unsafe, { recursive: true });
    const { uid, gid } = ensureTestAccount();
    await chown(unsafe, uid, gid);
    await chmod(unsafe, 0o777);
    // alice and dave have a profile on the workstation (the stand-in's registry folder of the user).
    for (const user of ['alice', 'dave']) {
      await mkdir(join(ws.root, 'registry', user), { recursive: true });
      await chown(join(ws.root, 'registry', user), uid, gid);
    }
    const apply = `sh {script} --campaign {campaign} --user {user} --prf {prf} --office {office} --checksum {checksum} --root '${ws.root}' {rollback}`;
    writeFileSync(
      join(work, 'probe.yaml'),
      [
        'deploy:',
        '  transport: ssh',
        '  ssh:',
        '    user: fleet-test',
        `    port: ${port}`,
        '    target_os: posix',
        `    staging_dir: ${ws.staging}`,
        `    apply_command: "${apply}"`,
        '  sites:',
        '    unsafe:',
        `      staging_dir: ${unsafe}`,
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(work, 'pilot.csv'),
      [
        'username,exchange_server,proxy,host,site,office',
        'alice,exch01.contoso.fr,https://mail.contoso.fr,127.0.0.6,hq,2010',
        'bob,exch01.contoso.fr,https://mail.contoso.fr,127.0.0.6,hq,2016',
        'carol,exch01.contoso.fr,https://mail.contoso.fr,127.0.0.250,hq,2010',
        'dave,exch01.contoso.fr,https://mail.contoso.fr,127.0.0.6,unsafe,2010',
        '',
      ].join('\n'),
    );
    // The agent host's allow-list (docs/security.md) names the stand-in's command with its workstation root.
    writeFileSync(join(work, 'allow.yaml'), `stand-in: "${apply}"\n`);
    const args = ['probe', 'pilot.csv', '--campaign-file', 'probe.yaml', '--ssh-key', keyPath];
    args.push('--allow-apply-commands', 'allow.yaml');
    const run = cli(...args, '--known-hosts', 'known_hosts', '--csv', 'probe.csv', '--connect-timeout-ms', '3000');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('1 ready, 1 unreachable, 1 Outlook 2016+ → skipped by policy, 1 staging ACL unsafe');
    expect(lines.find((l) => l.includes('alice'))).toContain('ready');
    expect(lines.find((l) => l.includes('alice'))).toContain('shell sh');
    expect(lines.find((l) => l.includes('carol'))).toContain('FR_ERR_SSH_CONNECT_REFUSED');
    // Read-only: no PRF staged, no registry value written for anyone.
    expect(readdirSync(join(ws.root, 'registry', 'alice'))).toEqual([]);
    expect(existsSync(join(ws.root, 'registry', 'bob'))).toBe(false);
    expect(existsSync(join(ws.staging, 'probe'))).toBe(false);
    const table = readFileSync(join(work, 'probe.csv'), 'utf8').split('\r\n');
    expect(table[0]).toBe('host,user,office,verdict,reason,os,powershell,default_shell,exit_codes');
    expect(table.find((l) => l.startsWith('127.0.0.6,alice,'))).toContain(',ready,');

    const json = cli(...args, '--known-hosts', 'known_hosts', '--json', '--connect-timeout-ms', '3000');
    const parsed = JSON.parse(json.stdout) as { rows: Array<{ username: string; verdict: string }>; summary: string };
    expect(parsed.rows.map((r) => [r.username, r.verdict])).toEqual([
      ['alice', 'ready'],
      ['bob', 'skipped-by-policy'],
      ['carol', 'unreachable'],
      ['dave', 'staging-unsafe'],
    ]);
  });

  it('names a host whose key is not known (strict policy) instead of probing it', () => {
    // A known_hosts that knows another host only (an empty one stops the agent at start-up: issue 9).
    const [line] = readFileSync(join(work, 'known_hosts'), 'utf8').trim().split('\n');
    const key = (line ?? '').split(' ').slice(1).join(' ');
    writeFileSync(join(work, 'empty_known_hosts'), `[127.0.0.99]:22 ${key}\n`);
    const run = cli(
      'probe',
      'pilot.csv',
      '--campaign-file',
      'probe.yaml',
      '--ssh-key',
      keyPath,
      '--known-hosts',
      'empty_known_hosts',
      '--connect-timeout-ms',
      '3000',
      '--allow-apply-commands',
      'allow.yaml',
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('host key refused');
    expect(run.stdout).not.toContain(' ready,');
  });
});

describe('fleet-rollout verify', () => {
  it('records pending, then verified once Outlook consumed the PRF; the user stays applied', async () => {
    const hosts = join(work, 'hosts');
    mkdirSync(hosts, { recursive: true });
    const settings = campaignFileSchema.parse({ deploy: { transport: 'local', local_root: hosts } });
    const spec: UserSpec = {
      username: 'vera',
      mailbox: 'vera',
      exchangeServer: 'exch01.contoso.fr',
      proxyHost: 'mail.contoso.fr',
      ssl: true,
      auth: 'ntlm',
      mutualAuth: false,
      httpFirstFast: false,
      httpFirstSlow: true,
      host: 'ws-vera',
      office: '11.0',
      profileName: 'Outlook',
    };
    const rendered = renderProfile(spec, toProfileOptions(settings));
    if (!rendered.ok) throw new Error(rendered.rejection.reason);
    const { artifact } = rendered;
    // The deploy step, as an agent runs it: stage + apply on the simulated workstation, then record `applied`.
    const local = createLocalTransport({ root: hosts, scriptPath: SCRIPT });
    const target = { host: 'ws-vera', port: 22, login: 'x', targetOs: 'posix' as const, stagingDir: 'staging' };
    const signal = new AbortController().signal;
    await local.apply({ campaign: 'verify-e2e', user: 'vera', office: '11.0', artifact, target, signal });
    const store = createRecordStore(redis, prefix);
    const now = Date.now();
    await store.saveCampaign({
      name: 'verify-e2e',
      state: 'running',
      stateReason: 'test',
      csvFile: 'x.csv',
      csvSha256: '0'.repeat(64),
      settings,
      imports: 1,
      totalUsers: 1,
      rejectedRows: 0,
      createdAt: now,
      updatedAt: now,
    });
    await store.upsertUsers('verify-e2e', [{ line: 2, spec, specHash: 'h' }], 1, now);
    const user = (await store.findUserByName('verify-e2e', 'vera'))!;
    for (const intent of ['generate-done', 'deploy-begin', 'deploy-succeeded'] as const) {
      await store.transition(
        'verify-e2e',
        user.userKey,
        { intent, run: user.run, patch: { checksum: artifact.sha256 } },
        now,
      );
    }

    expect(cli('user', 'verify-e2e', 'vera').stdout).toContain('verify not run (applied = registry staged');
    const first = cli('verify', 'verify-e2e', '--local-root', hosts);
    expect(first.stderr).toBe('');
    expect(first.stdout).toContain('verify verify-e2e: 1 pending');
    const verifications = createVerificationStore(redis, prefix);
    expect((await verifications.get('verify-e2e', user.userKey))?.status).toBe('pending');

    // Outlook's next start: ImportPRF consumed, FirstRun recreated, the profile built from the PRF.
    const outlook = join(hosts, 'ws-vera', 'registry', 'vera', 'Software/Microsoft/Office/11.0/Outlook');
    await rm(join(outlook, 'Setup', 'ImportPRF'));
    await writeFile(join(outlook, 'Setup', 'FirstRun'), '1\n');
    await mkdir(join(outlook, 'Profile'), { recursive: true });
    await writeFile(join(outlook, 'Profile', 'RPCProxyServer'), 'mail.contoso.fr\n');
    await writeFile(join(outlook, 'Profile', 'RPCoverHTTPflags'), '0x0023\n');
    const second = cli('verify', 'verify-e2e', '--local-root', hosts, '--json');
    expect(JSON.parse(second.stdout)).toMatchObject({ summary: '1 verified', rows: [{ status: 'verified' }] });
    expect((await verifications.get('verify-e2e', user.userKey))?.status).toBe('verified');
    expect((await store.getUser('verify-e2e', user.userKey))?.state).toBe('applied');
    const detail = cli('user', 'verify-e2e', 'vera');
    expect(detail.stdout).toContain('verify verified at');

    // A profile that kept another proxy did not take the PRF: recorded with the reason.
    await writeFile(join(outlook, 'Profile', 'RPCProxyServer'), 'old.contoso.fr\n');
    const third = cli('verify', 'verify-e2e', '--local-root', hosts);
    expect(third.stdout).toContain('not-taken');
    expect((await verifications.get('verify-e2e', user.userKey))?.reason).toContain('RPCProxyServer');
  });
});
