import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTestRedis, createTestPrefix, deletePrefix, findFreePort, TEST_REDIS_URL } from '../helpers/redis.js';

/** Campaign-level SSH settings given as flags on `import`/`run` (issue 4 §1), through the built CLI and real Redis. */
const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const prefix = createTestPrefix('campaign-flags');
const work = mkdtempSync(join(tmpdir(), 'fleet-e2e-flags-'));
let redis: Redis;

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: work,
    encoding: 'utf8',
    env: { ...process.env, REDIS_URL: TEST_REDIS_URL, FLEET_PREFIX: prefix, FLEET_DEBUG: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const CSV = [
  'username,exchange_server,proxy,host,site',
  'alice,exch01.contoso.fr,https://mail.contoso.fr,ws-1.demo.lan,paris',
  'bob,exch01.contoso.fr,https://mail.contoso.fr,ws-2.demo.lan,lyon',
  'carol,exch01.contoso.fr,https://mail.contoso.fr,ws-3.demo.lan,paris',
];

/** A custom template has every required placeholder (agents still run it only if their allow-list names it). */
const FULL_TEMPLATE =
  'sh {script} --campaign {campaign} --prf {prf} --user {user} --office {office} --checksum {checksum}';

const CAMPAIGN_FILE = [
  'deploy:',
  '  transport: local',
  '  ssh:',
  '    user: file-user',
  '    port: 22',
  '    target_os: windows',
  '    apply_command: corp-wrapper',
  '  sites:',
  '    lyon:',
  '      port: 2222',
  '',
].join('\n');

/** The campaign-level ssh flags, with the port as a parameter. */
const flags = (port: string): string[] => [
  '--transport',
  'ssh',
  '--ssh-user',
  'deployer',
  '--ssh-port',
  port,
  '--target-os',
  'posix',
  '--staging-dir',
  '/var/tmp/fleet-stage',
];

type Listed = Array<{ campaign: { name: string; state: string; settings: { deploy: Record<string, unknown> } } }>;

function storedDeploy(name: string): Record<string, unknown> | undefined {
  const list = cli('campaigns', '--json');
  expect(list.code).toBe(0);
  return (JSON.parse(list.stdout) as Listed).find((item) => item.campaign.name === name)?.campaign.settings.deploy;
}

beforeAll(() => {
  writeFileSync(join(work, 'users.csv'), `${CSV.join('\n')}\n`);
  writeFileSync(join(work, 'campaign.yaml'), CAMPAIGN_FILE);
  redis = connectTestRedis();
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
  rmSync(work, { recursive: true, force: true });
});

describe('campaign ssh flags on import and run', () => {
  it('import stores the flags over the campaign file deploy.ssh, keeping the file values and its sites', () => {
    const run = cli(
      'import',
      'users.csv',
      '--campaign',
      'flags-import',
      '--campaign-file',
      'campaign.yaml',
      ...flags('2200'),
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(storedDeploy('flags-import')).toMatchObject({
      transport: 'ssh',
      ssh: {
        user: 'deployer',
        port: 2200,
        target_os: 'posix',
        staging_dir: '/var/tmp/fleet-stage',
        apply_command: 'corp-wrapper',
      },
      sites: { lyon: { port: 2222 } },
    });
  });

  it('a changed flag re-queues exactly the users whose target changes (the lyon site keeps its own port)', () => {
    const again = cli(
      'import',
      'users.csv',
      '--campaign',
      'flags-import',
      '--campaign-file',
      'campaign.yaml',
      ...flags('2201'),
      '--json',
    );
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ added: 0, changed: 2, unchanged: 1, queued: 2 });
    expect(storedDeploy('flags-import')).toMatchObject({ ssh: { port: 2201 }, sites: { lyon: { port: 2222 } } });
  });

  it('run takes the same flags without a campaign file, and --json shows the started campaign', () => {
    const run = cli(
      'run',
      'users.csv',
      '--campaign',
      'flags-run',
      '--transport',
      'ssh',
      '--ssh-user',
      "o'deploy",
      '--apply-command',
      FULL_TEMPLATE,
      '--json',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ campaign: 'flags-run', valid: 3, state: 'running' });
    const deploy = storedDeploy('flags-run');
    expect(deploy).toMatchObject({ transport: 'ssh', sites: {} });
    expect(deploy?.['ssh']).toEqual({ user: "o'deploy", apply_command: FULL_TEMPLATE });
  });

  it.each([
    [['--ssh-port', '70000'], /^fleet-rollout: FR_ERR_USAGE: --ssh-port "70000": .*65535\n$/],
    [['--target-os', 'beos'], /^fleet-rollout: FR_ERR_USAGE: --target-os "beos": .*"windows"\|"posix"\n$/],
    [['--staging-dir', 'stage'], /^fleet-rollout: FR_ERR_USAGE: --staging-dir "stage": .*absolute path.*\n$/],
    [
      ['--apply-command', 'sh {script} {oops}'],
      /^fleet-rollout: FR_ERR_USAGE: --apply-command "sh \{script\} \{oops\}": /,
    ],
  ])('refuses %j with exit 1, one line naming the flag, before touching Redis', async (bad, message) => {
    const closed = `redis://127.0.0.1:${await findFreePort()}`;
    for (const command of ['import', 'run']) {
      const run = cli(command, 'users.csv', '--campaign', 'flags-bad', '--redis-url', closed, ...bad);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stdout).toBe('');
    }
    expect(storedDeploy('flags-bad')).toBeUndefined();
  });

  it('re-importing without the campaign file or flags keeps the stored settings and re-queues nobody', () => {
    const again = cli('import', 'users.csv', '--campaign', 'flags-run', '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ added: 0, changed: 0, unchanged: 3, queued: 0 });
    expect(storedDeploy('flags-run')).toMatchObject({ transport: 'ssh', ssh: { user: "o'deploy" } });
  });

  it('rejects a row without a workstation host at import, naming its line and the host column', () => {
    writeFileSync(
      join(work, 'no-host.csv'),
      'username,exchange_server,proxy,host\ndave,exch01.contoso.fr,mail.contoso.fr,ws-4.demo.lan\nerin,exch01.contoso.fr,mail.contoso.fr,\n',
    );
    const run = cli('import', 'no-host.csv', '--campaign', 'flags-nohost', '--json', '--report-dir', work);
    expect(run.code).toBe(2);
    const result = JSON.parse(run.stdout) as { valid: number; rejected: number; reportPath: string };
    expect(result).toMatchObject({ valid: 1, rejected: 1 });
    expect(readFileSync(result.reportPath, 'utf8')).toMatch(/^3,host,,"?a workstation host is required/m);
  });
});

describe('fleet-rollout agent with the ssh transport', () => {
  const agent = (...args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: TEST_REDIS_URL, FLEET_PREFIX: prefix };
    delete env['SSH_AUTH_SOCK'];
    const result = spawnSync(process.execPath, [CLI, 'agent', ...args], {
      cwd: work,
      encoding: 'utf8',
      env,
      timeout: 30_000,
    });
    return { code: result.status, stderr: result.stderr };
  };

  it('refuses to start without SSH credentials instead of failing users one by one', () => {
    const run = agent('--transport', 'ssh');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^fleet-rollout: FR_ERR_USAGE: --transport ssh needs SSH credentials/);
  });

  it('refuses to start with an unreadable key or a known_hosts path that does not exist', () => {
    writeFileSync(join(work, 'not-a-key'), 'not a private key\n');
    for (const args of [
      ['--ssh-key', join(work, 'missing-key')],
      ['--ssh-key', join(work, 'not-a-key'), '--known-hosts', join(work, 'missing-known-hosts')],
    ]) {
      const run = agent('--transport', 'ssh', ...args);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toMatch(/^fleet-rollout: FR_ERR_[A-Z_]+: /);
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
  });
});
