import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectTestRedis, createTestPrefix, deletePrefix, TEST_REDIS_URL } from '../helpers/redis.js';

/** The caps flags of `import` over the campaign file, stored on the campaign and shown by `status` (built CLI). */
const CLI = join(resolve(import.meta.dirname, '../..'), 'dist/cli/main.js');
const prefix = createTestPrefix('caps-flags');
const work = mkdtempSync(join(tmpdir(), 'fleet-e2e-caps-'));
const redis = connectTestRedis();

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: work,
    encoding: 'utf8',
    env: { ...process.env, REDIS_URL: TEST_REDIS_URL, FLEET_PREFIX: prefix, FLEET_DEBUG: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
  rmSync(work, { recursive: true, force: true });
});

describe('caps flags', { timeout: 60_000 }, () => {
  it('lay over the campaign file, are kept by the campaign and shown by status', () => {
    writeFileSync(
      join(work, 'users.csv'),
      'username,exchange_server,proxy,host,site\nalice,exch01.contoso.fr,https://mail.contoso.fr,ws-1.demo.lan,LYON\n',
    );
    writeFileSync(join(work, 'c.yaml'), 'caps:\n  per_site: 5\n  sites: { PARIS: 4 }\n');
    const imported = cli(
      'import',
      'users.csv',
      '--campaign',
      'capped',
      '--campaign-file',
      'c.yaml',
      '--site-cap',
      'LYON=3',
      '--max-in-flight',
      '40',
      '--connections-per-second',
      '10',
    );
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    const status = cli('status', 'capped');
    expect(status.stdout).toContain(
      '  slots     all sites 0/40 · LYON 0/3 · PARIS 0/4 · per host 8 (in flight/cap, every agent)\n',
    );
    expect(status.stdout).toContain('  connect   10/s new ssh connections\n');
    const json = JSON.parse(cli('status', 'capped', '--json').stdout) as { slots: { sites: unknown[] } };
    expect(json.slots.sites).toEqual([
      { site: 'LYON', inFlight: 0, cap: 3 },
      { site: 'PARIS', inFlight: 0, cap: 4 },
    ]);
  });

  it('a bad caps flag is a usage error naming the flag, before Redis is opened', () => {
    const bad = cli(
      'import',
      'users.csv',
      '--campaign',
      'bad',
      '--per-host-cap',
      'many',
      '--redis-url',
      'redis://127.0.0.1:1',
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--per-host-cap "many": expected a number');
  });
});
