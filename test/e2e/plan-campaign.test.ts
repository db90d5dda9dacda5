import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectTestRedis, createTestPrefix, deletePrefix } from '../helpers/redis.js';
import { runCli } from '../helpers/run-cli.js';

/**
 * `plan` of an imported campaign plans exactly what `plan` of its CSV plans (users in CSV order, its stored
 * settings); `import` takes the schedule and wave flags over the campaign file.
 */
const prefix = createTestPrefix('plan-campaign');
const work = mkdtempSync(join(tmpdir(), 'fleet-e2e-plan-campaign-'));
afterAll(async () => {
  const redis = connectTestRedis();
  await deletePrefix(redis, prefix);
  redis.disconnect();
  rmSync(work, { recursive: true, force: true });
});

const sites = ['paris', 'lyon', 'newyork'];
const rows = Array.from({ length: 30 }, (_, i) => `p${String(i + 1).padStart(2, '0')},ws-${i + 1}.lan,${sites[i % 3]}`);
writeFileSync(join(work, 'users.csv'), ['username,host,site', ...rows].join('\n'));
writeFileSync(
  join(work, 'night.yaml'),
  [
    'defaults: { exchange_server: exch01.contoso.com, proxy: https://mail.contoso.com }',
    'schedule: { timezone: Europe/Paris, sites: { newyork: { timezone: America/New_York } } }',
    'waves: { order: site, site_order: [lyon] }',
  ].join('\n'),
);
const NOW = ['--now', '2026-12-08T12:00:00Z', '--json'];
const FLAGS = ['--window', 'mon-fri 22:00-06:00', '--canary', '3', '--wave-size', '40%', '--max-fail-percent', '10'];

describe('plan <campaign>', () => {
  it('plans an imported campaign as its CSV, with the flags given at import', () => {
    const imported = runCli(work, prefix, [
      'import',
      'users.csv',
      '--campaign',
      'night',
      '--campaign-file',
      'night.yaml',
      ...FLAGS,
    ]);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    const fromCampaign = runCli(work, prefix, ['plan', 'night', ...NOW]);
    expect(fromCampaign.stderr).toBe('');
    const planned = JSON.parse(fromCampaign.stdout);
    expect(planned.waves.map((w: { users: number }) => w.users)).toEqual([3, 12, 12, 3]);
    expect(planned.waves[0].sites).toEqual([{ site: 'lyon', usernames: ['p02', 'p05', 'p08'] }]);
    expect(planned.sites.map((s: { schedule: { windows: unknown[] } }) => s.schedule.windows.length)).toEqual([
      1, 1, 1,
    ]);

    // the CSV with the same settings (the flags written into a file) plans the same
    writeFileSync(
      join(work, 'same.yaml'),
      [
        'name: night',
        'defaults: { exchange_server: exch01.contoso.com, proxy: https://mail.contoso.com }',
        'schedule: { timezone: Europe/Paris, windows: [{ days: [mon-fri], hours: 22:00-06:00 }], sites: { newyork: { timezone: America/New_York } } }',
        'waves: { order: site, site_order: [lyon], canary: 3, size: 40%, max_fail_percent: 10 }',
      ].join('\n'),
    );
    const fromCsv = JSON.parse(
      runCli(work, prefix, ['plan', 'users.csv', '--campaign-file', 'same.yaml', ...NOW]).stdout,
    );
    expect(planned.waves).toEqual(fromCsv.waves);
    expect(planned.finishAt).toBe(fromCsv.finishAt);

    const missing = runCli(work, prefix, ['plan', 'nosuch', ...NOW]);
    expect([missing.code, missing.stderr.trim()]).toEqual([
      1,
      'fleet-rollout: FR_ERR_CAMPAIGN_NOT_FOUND: no campaign named nosuch',
    ]);
  });

  it('refuses a bad flag naming it, before anything is written', () => {
    const bad = runCli(work, prefix, [
      'import',
      'users.csv',
      '--campaign',
      'bad',
      '--campaign-file',
      'night.yaml',
      '--window',
      '22:00-30:00',
    ]);
    expect([bad.code, bad.stderr.trim()]).toEqual([
      1,
      'fleet-rollout: FR_ERR_USAGE: --window "22:00-30:00": "22:00-30:00": the end must be 00:00 to 24:00',
    ]);
  });
});
