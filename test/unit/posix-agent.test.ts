import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTestAccount } from '../helpers/sshd.js';

/** The POSIX apply agent run directly with dash (the strictest common /bin/sh), no SSH involved. */
const SCRIPT = fileURLToPath(new URL('../../agent/posix/apply-profile.sh', import.meta.url));
const SETUP = 'Software/Microsoft/Office/11.0/Outlook/Setup';

let base: string;
let counter = 0;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly json: Record<string, unknown>;
}

function run(args: string[], asUser?: string, script = SCRIPT): Promise<Run> {
  const [cmd, argv] = asUser ? ['runuser', ['-u', asUser, '--', 'dash', script, ...args]] : ['dash', [script, ...args]];
  return new Promise((resolve) => {
    execFile(cmd as string, argv as string[], (error, stdout, stderr) => {
      const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
      const last = stdout.trim().split('\n').at(-1) ?? '';
      resolve({ code, stdout, stderr, json: last ? (JSON.parse(last) as Record<string, unknown>) : {} });
    });
  });
}

interface Host {
  readonly root: string;
  readonly staging: string;
  stage(user: string, text: string): Promise<{ prf: string; sha: string }>;
  args(user: string, prf: string, sha: string, extra?: string[]): string[];
  value(user: string, name: string): Promise<string | undefined>;
}

async function makeHost(): Promise<Host> {
  const dir = join(base, `host-${++counter}`);
  const root = join(dir, 'root');
  const staging = join(dir, 'staging', 'camp');
  await mkdir(root, { recursive: true });
  await mkdir(staging, { recursive: true });
  return {
    root,
    staging,
    async stage(user, text) {
      const prf = join(staging, `${user}.prf`);
      await writeFile(prf, text);
      return { prf, sha: createHash('sha256').update(text).digest('hex') };
    },
    args(user, prf, sha, extra = []) {
      return [
        '--campaign',
        'camp',
        '--user',
        user,
        '--prf',
        prf,
        '--office',
        '11.0',
        '--checksum',
        sha,
        '--root',
        root,
        ...extra,
      ];
    },
    async value(user, name) {
      const path = join(root, 'registry', user, SETUP, name);
      return existsSync(path) ? (await readFile(path, 'utf8')).replace(/\n$/, '') : undefined;
    },
  };
}

async function seedValues(host: Host, user: string, values: Record<string, string>): Promise<void> {
  const dir = join(host.root, 'registry', user, SETUP);
  await mkdir(dir, { recursive: true });
  for (const [name, value] of Object.entries(values)) await writeFile(join(dir, name), `${value}\n`);
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'fleet-posix-agent-'));
  await chmod(base, 0o755);
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('agent/posix/apply-profile.sh', () => {
  it('sets ImportPRF, deletes FirstRun and First-Run, backs up the old values and prints the result JSON', async () => {
    const host = await makeHost();
    await seedValues(host, 'alice', { ImportPRF: 'C:\\old.prf', FirstRun: '1', 'First-Run': '1' });
    const { prf, sha } = await host.stage('alice', '[General]\r\n');
    const result = await run(host.args('alice', prf, sha));
    expect(result.code).toBe(0);
    const backup = join(host.staging, 'alice.backup.reg');
    expect(result.json).toEqual({
      status: 'applied',
      exit: 0,
      staleMounts: 0,
      officeVersion: '11.0',
      backup,
      checksum: sha,
    });
    expect(await host.value('alice', 'ImportPRF')).toBe(prf);
    expect(await host.value('alice', 'FirstRun')).toBeUndefined();
    expect(await host.value('alice', 'First-Run')).toBeUndefined();
    const saved = await readFile(backup, 'utf8');
    expect(saved).toContain('"ImportPRF"="C:\\old.prf"');
    expect(saved).toContain('"FirstRun"="1"');
    expect(saved).toContain('"FleetRolloutChecksum"=-');
  });

  it('answers already-applied for the same checksum, applies a new one and keeps the first backup', async () => {
    const host = await makeHost();
    await seedValues(host, 'bob', { ImportPRF: 'before' });
    const first = await host.stage('bob', 'v1');
    expect((await run(host.args('bob', first.prf, first.sha))).json['status']).toBe('applied');
    expect((await run(host.args('bob', first.prf, first.sha))).json['status']).toBe('already-applied');
    const second = await host.stage('bob', 'v2');
    expect((await run(host.args('bob', second.prf, second.sha))).json['status']).toBe('applied');
    const rolled = await run(host.args('bob', second.prf, '', ['--rollback']));
    expect(rolled.json).toMatchObject({ status: 'rolled-back', restored: true });
    expect(await host.value('bob', 'ImportPRF')).toBe('before');
    expect(await host.value('bob', 'FleetRolloutChecksum')).toBeUndefined();
    // After a rollback the same artifact applies again (the recorded checksum went with the rollback).
    expect((await run(host.args('bob', second.prf, second.sha))).json['status']).toBe('applied');
  });

  it('restores FirstRun on rollback and says when there was nothing to restore', async () => {
    const host = await makeHost();
    await seedValues(host, 'carol', { FirstRun: '1' });
    const { prf, sha } = await host.stage('carol', 'x');
    await run(host.args('carol', prf, sha));
    await run(host.args('carol', prf, sha, ['--rollback']));
    expect(await host.value('carol', 'FirstRun')).toBe('1');
    expect(await host.value('carol', 'ImportPRF')).toBeUndefined();
    const none = await run(host.args('nobody', join(host.staging, 'nobody.prf'), '', ['--rollback']));
    expect(none.code).toBe(0);
    expect(none.json).toMatchObject({ status: 'nothing-to-restore', restored: false, exit: 0 });
  });

  it('exits 65 for a missing PRF or a checksum mismatch, 69 when the Office version is not installed', async () => {
    const host = await makeHost();
    const { prf, sha } = await host.stage('dave', 'content');
    const mismatch = await run(host.args('dave', prf, 'a'.repeat(64)));
    expect(mismatch.code).toBe(65);
    expect(mismatch.json).toMatchObject({ status: 'error', message: 'PRF checksum mismatch' });
    expect(mismatch.stderr).toContain('PRF checksum mismatch');
    expect((await run(host.args('dave', `${prf}.missing`, sha))).code).toBe(65);
    await writeFile(join(host.root, 'installed-office'), '16.0\n');
    const unavailable = await run(host.args('dave', prf, sha));
    expect(unavailable.code).toBe(69);
    expect(await host.value('dave', 'ImportPRF')).toBeUndefined();
  });

  it('exits 77 when the user registry directory is not writable', async () => {
    const host = await makeHost();
    await seedValues(host, 'erin', {});
    const { prf, sha } = await host.stage('erin', 'content');
    const isRoot = process.getuid?.() === 0;
    if (isRoot) {
      // root writes anywhere: run as the unprivileged test account against root-owned dirs.
      ensureTestAccount();
      await chmod(join(host.root, 'registry', 'erin', SETUP), 0o755);
    } else {
      await chmod(join(host.root, 'registry', 'erin', SETUP), 0o555);
    }
    const result = await run(host.args('erin', prf, sha), isRoot ? 'fleet-test' : undefined);
    expect(result.code).toBe(77);
    expect(result.json['status']).toBe('error');
  });

  it('runs from <staging>/.fleet only when both folders belong to root or the deploy account and others cannot write', async () => {
    // The script checks the folder it runs from when that is an SSH push's `.fleet` (docs/windows-workstations.md §3).
    const account = ensureTestAccount();
    const host = await makeHost();
    const staging = join(host.root, '..', 'push');
    const fleet = join(staging, '.fleet');
    await mkdir(fleet, { recursive: true });
    const script = join(fleet, 'apply-profile.sh');
    await writeFile(script, await readFile(SCRIPT));
    const { prf, sha } = await host.stage('hank', 'h');
    await chown(host.root, account.uid, account.gid);
    await chown(host.staging, account.uid, account.gid);
    await chown(prf, account.uid, account.gid);
    const runPushed = async (): Promise<number> => {
      const result = await run(host.args('hank', prf, sha), account.login, script);
      if (result.code === 78) expect(result.json['message']).toContain('writable by other accounts');
      return result.code;
    };
    const cases: Array<[string, number, number, number, number]> = [
      // [what, staging owner, .fleet owner, .fleet mode, expected exit]
      ["both the deploy account's", account.uid, account.uid, 0o755, 0],
      ["staging root-owned, .fleet the deploy account's", 0, account.uid, 0o755, 0],
      ['.fleet owned by another account', account.uid, 65534, 0o755, 78],
      ['staging owned by another account', 65534, account.uid, 0o755, 78],
      ['.fleet writable by others', account.uid, account.uid, 0o757, 78],
      ['.fleet group-writable (umask 002)', account.uid, account.uid, 0o775, 0],
    ];
    const seen: Array<[string, number]> = [];
    for (const [what, stagingOwner, fleetOwner, fleetMode] of cases) {
      await chown(staging, stagingOwner, account.gid);
      await chown(fleet, fleetOwner, account.gid);
      await chmod(staging, 0o755);
      await chmod(fleet, fleetMode);
      seen.push([what, await runPushed()]);
    }
    expect(seen).toEqual(cases.map(([what, , , , exit]) => [what, exit]));
  });

  it('refuses unsafe arguments with exit 64 and keeps odd but valid names literal', async () => {
    const host = await makeHost();
    const { prf, sha } = await host.stage('x', 'content');
    for (const bad of ['../etc', 'a/b', 'a\\b\\c', '\\lead', 'a\nb', '.', '']) {
      expect((await run(host.args(bad, prf, sha))).code).toBe(64);
    }
    expect((await run([...host.args('x', prf, sha), '--office', '13.0'])).code).toBe(64);
    expect(
      (await run(['--campaign', 'a b', '--user', 'x', '--prf', prf, '--office', '11.0', '--checksum', sha])).code,
    ).toBe(64);
    for (const name of ["o'brien", 'Zoé Müller', '$(touch pwned)', '`id` ; *']) {
      const staged = await host.stage(name.replace(/\//g, '_'), 'content');
      const result = await run(host.args(name, staged.prf, staged.sha));
      expect(result.code).toBe(0);
      expect(await host.value(name, 'ImportPRF')).toBe(staged.prf);
    }
    expect(existsSync('pwned')).toBe(false);
  });

  it('writes valid JSON when paths hold quotes and backslashes', async () => {
    const host = await makeHost();
    const odd = join(host.staging, 'we"ird\\dir');
    await mkdir(odd);
    await writeFile(join(odd, 'q.prf'), 'z');
    const sha = createHash('sha256').update('z').digest('hex');
    const result = await run(host.args('q', join(odd, 'q.prf'), sha));
    expect(result.json['backup']).toBe(join(odd, 'q.backup.reg'));
  });

  it('follows the fault switches: exit N for the first K runs of one user, then normal', async () => {
    const host = await makeHost();
    await writeFile(join(host.root, 'fault'), '# busy twice\nexit=75\ntimes=2\nuser=frank\n');
    const frank = await host.stage('frank', 'f');
    const other = await host.stage('gina', 'g');
    expect((await run(host.args('gina', other.prf, other.sha))).code).toBe(0);
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await run(host.args('frank', frank.prf, frank.sha))).code);
    expect(codes).toEqual([75, 75, 0]);
  });

  it('applies concurrently for 20 users of one host without mixing them up', async () => {
    const host = await makeHost();
    const users = Array.from({ length: 20 }, (_, i) => `user ${i}`);
    const staged = await Promise.all(users.map((u) => host.stage(u, `profile of ${u}`)));
    const results = await Promise.all(users.map((u, i) => run(host.args(u, staged[i]!.prf, staged[i]!.sha))));
    expect(results.map((r) => r.code)).toEqual(users.map(() => 0));
    for (const [i, u] of users.entries()) {
      expect(await host.value(u, 'ImportPRF')).toBe(staged[i]!.prf);
      expect(await host.value(u, 'FleetRolloutChecksum')).toBe(staged[i]!.sha);
    }
  });
});
