import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** `fleet-rollout plan` through the built CLI (`npm test` builds dist/ first). It never opens Redis. */
const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const work = mkdtempSync(join(tmpdir(), 'fleet-e2e-plan-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sites = ['paris', 'paris', 'lyon', 'newyork'];
const rows = Array.from({ length: 40 }, (_, i) => {
  const site = sites[i % 4] as string;
  return `u${String(i + 1).padStart(2, '0')},u${i + 1}@contoso.com,ws-${i + 1}.lan,${site}`;
});
writeFileSync(join(work, 'users.csv'), ['username,email,host,site', ...rows].join('\n'));
writeFileSync(
  join(work, 'bad-row.csv'),
  ['username,email,host,site', ...rows, 'broken,not-an-email,ws-x.lan,paris'].join('\n'),
);
writeFileSync(
  join(work, 'night.yaml'),
  [
    'defaults: { exchange_server: exch01.contoso.com, proxy: https://mail.contoso.com }',
    'schedule:',
    '  timezone: Europe/Paris',
    '  windows: [{ days: [mon-fri], hours: 22:00-06:00 }]',
    '  deploy_estimate_seconds: 120',
    '  sites: { newyork: { timezone: America/New_York } }',
    'waves: { canary: 4, size: 50%, order: site, site_order: [lyon] }',
  ].join('\n'),
);
writeFileSync(join(work, 'wrong.yaml'), 'schedule:\n  windows: [{ hours: 22:00-06:00 }]\n');

function plan(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, 'plan', ...args], {
    cwd: work,
    encoding: 'utf8',
    // An unreachable Redis: plan must not need one.
    env: { ...process.env, FLEET_DEBUG: '', REDIS_URL: 'redis://127.0.0.1:1' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const NOW = ['--now', '2026-12-08T12:00:00Z'];

describe('fleet-rollout plan', () => {
  it('prints the waves with their users per site, the next openings in each site zone and the estimated finish', () => {
    const run = plan('users.csv', '--campaign-file', 'night.yaml', '--concurrency', '2', ...NOW);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe('plan: 40 users · 3 sites · 3 waves · 2 deploys at once · 120 s per user');
    expect(run.stdout).toMatch(/lyon +10 users {2}Europe\/Paris {2}mon-fri 22:00-06:00/);
    expect(run.stdout).toMatch(/newyork +10 users {2}America\/New_York {2}mon-fri 22:00-06:00/);
    // New York's window opens at 22:00 New York time (04:00 in Paris).
    expect(run.stdout).toContain('next openings: Tue 2026-12-08 22:00 → Wed 12-09 06:00');
    expect(run.stdout).toMatch(/wave 1 \(canary\) +4 users {2}Tue 2026-12-08 22:00 → 22:04 Europe\/Paris/);
    expect(run.stdout).toMatch(/^ {4}lyon +4 {2}u03, u07, u11, … \+1$/m);
    expect(run.stdout).toMatch(/wave 2 +20 users/);
    expect(run.stdout).toMatch(
      /^estimated finish: Wed 2026-12-09 \d\d:\d\d Europe\/Paris \(Wed 2026-12-09 \d\d:\d\d UTC\)$/m,
    );
  });

  it('gives every username and epoch times with --json', () => {
    const run = plan('users.csv', '--campaign-file', 'night.yaml', '--concurrency', '2', '--json', ...NOW);
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout) as {
      users: number;
      rejected: number;
      finishAt: number;
      waves: { number: number; users: number; sites: { site: string; usernames: string[] }[]; startsAt: number }[];
    };
    expect(json.users).toBe(40);
    expect(json.rejected).toBe(0);
    expect(json.waves.map((wave) => wave.users)).toEqual([4, 20, 16]);
    expect(json.waves[0]?.sites).toEqual([{ site: 'lyon', usernames: ['u03', 'u07', 'u11', 'u15'] }]);
    expect(json.waves.flatMap((wave) => wave.sites.flatMap((site) => site.usernames))).toHaveLength(40);
    expect(json.waves[0]?.startsAt).toBe(Date.parse('2026-12-08T21:00:00Z'));
    // The New York users cannot start before 22:00 New York time.
    expect(json.finishAt).toBeGreaterThan(Date.parse('2026-12-09T03:00:00Z'));
  });

  it('plans the valid rows and exits 2 when some rows are rejected', () => {
    const run = plan('bad-row.csv', '--campaign-file', 'night.yaml', ...NOW);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('plan: 40 users');
    expect(run.stdout).toContain('1 rejected rows are not planned');
  });

  it('refuses an invalid campaign file or flag with one line naming the problem', () => {
    const file = plan('users.csv', '--campaign-file', 'wrong.yaml', ...NOW);
    expect(file.code).toBe(1);
    expect(file.stderr).toContain('FR_ERR_CAMPAIGN_FILE_INVALID');
    expect(file.stderr).toContain('schedule.timezone: required with windows');
    const flag = plan('users.csv', '--concurrency', '0', ...NOW);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toContain('--concurrency 0: must be a positive whole number');
  });
});

describe("the README's worked example", () => {
  it('shows the real output of plan on its 5,000 users over 4 sites in 2 zones', () => {
    // The CSV the README describes: paris 2,143, lyon 1,071, newyork 536, boston 1,250.
    const lines = ['username,email,host,site'];
    for (let i = 1; i <= 5000; i += 1) {
      const site = i % 4 === 0 ? 'boston' : i % 7 === 0 ? 'newyork' : i % 3 === 0 ? 'lyon' : 'paris';
      const user = `user${String(i).padStart(4, '0')}`;
      lines.push(`${user},${user}@contoso.com,ws-${String(i).padStart(4, '0')}.${site}.contoso.lan,${site}`);
    }
    writeFileSync(join(work, 'users-5000.csv'), `${lines.join('\n')}\n`);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = /\$ fleet-rollout plan users\.csv (.*)\n([\s\S]*?)\n```/.exec(readme);
    expect(block).not.toBeNull();
    const args = (block?.[1] ?? '').split(' ');
    const run = plan('users-5000.csv', ...args.map((arg) => (arg.startsWith('examples/') ? join(ROOT, arg) : arg)));
    expect(run.code).toBe(0);
    expect(run.stdout.trimEnd()).toBe(block?.[2]);
  });
});
