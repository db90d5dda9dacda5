import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFleet } from '../../src/app/open-fleet.js';
import { FleetError } from '../../src/errors/index.js';
import { createFleetFixture, csvRow, type FleetFixture } from '../helpers/fleet-fixture.js';
import { connectTestRedis } from '../helpers/redis.js';
import { runCli } from '../helpers/run-cli.js';

/**
 * `campaign delete|archive|prune` through the facade against real Redis and BullMQ (issue 10 §2.3): nothing of the
 * campaign is left in Redis, other campaigns are untouched, a campaign still working is refused unless forced.
 */
let fx: FleetFixture;
let redis: Redis;
const DAY = 86_400_000;

/** Every key under the test prefix. */
async function allKeys(): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${fx.prefix}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  return keys.sort();
}

/** The keys of one campaign: its records (`{name}`) and its two queues (`gen-name:`, `dep-name:`). */
const keysOf = (keys: readonly string[], name: string): string[] =>
  keys.filter((k) => k.includes(`{${name}}`) || k.includes(`:gen-${name}:`) || k.includes(`:dep-${name}:`));

/** Deploys parked until the year 2100: the campaign stays running, its jobs waiting in BullMQ. */
const PARKED = { schedule: { start_at: '2100-01-01T00:00:00Z' } };

async function importUsers(name: string, count: number, start: boolean, extra: object = {}): Promise<void> {
  const rows = Array.from({ length: count }, (_, i) => csvRow(`${name}-u${i}`, `ws-${name}-${i}`));
  const result = await fx.fleet.importCsv({
    campaign: name,
    source: { path: fx.writeCsv(`${name}.csv`, rows) },
    settings: fx.settings({ deploy: { transport: 'local' }, ...extra }),
    reportDir: `${fx.dir}/reports`,
    allowRejects: false,
    ...(start && { start: true }),
  });
  expect(result.imported).toBe(true);
}

async function waitForNoKeys(name: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (keysOf(await allKeys(), name).length > 0) {
    if (Date.now() > deadline) expect(keysOf(await allKeys(), name).join(' ')).toBe('');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function refusal(promise: Promise<unknown>): Promise<FleetError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FleetError);
  return error as FleetError;
}

beforeAll(async () => {
  fx = await createFleetFixture('retire');
  redis = connectTestRedis();
  await fx.startAgent();
  await importUsers('keep', 5, false);
  await importUsers('finished', 4, true);
  await fx.waitForFinal('finished', 4);
  await fx.waitFor('finished', () => true);
});

afterAll(async () => {
  await fx.close();
  redis.disconnect();
});

describe('campaign delete, archive and prune', () => {
  it('refuses to delete a running campaign, deletes it once cancelled, leaving no key of it and the others intact', async () => {
    await importUsers('gone', 30, true, PARKED);
    const keepBefore = keysOf(await allKeys(), 'keep');
    expect(keysOf(await allKeys(), 'gone').some((k) => k.includes(':dep-gone:') || k.includes(':gen-gone:'))).toBe(
      true,
    );
    const refused = await refusal(fx.fleet.deleteCampaign('gone'));
    expect(refused.code).toBe('FR_ERR_CAMPAIGN_STATE');
    expect(refused.message).toContain('cancel it first');

    await fx.fleet.cancel('gone');
    await fx.waitFor('gone', (counts) => counts.deploying === 0 && counts['rolling-back'] === 0);
    // What an admin waits for before deleting: no job an agent is still running.
    for (;;) {
      const { jobs } = await fx.fleet.status('gone');
      if ((jobs['generate.active'] ?? 0) + (jobs['deploy.active'] ?? 0) === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const result = await fx.fleet.deleteCampaign('gone');
    expect(result).toMatchObject({ campaign: 'gone', state: 'cancelled', users: 30 });
    expect(result.keys).toBeGreaterThan(30);
    const after = await allKeys();
    expect(keysOf(after, 'gone')).toEqual([]);
    await waitForNoKeys('gone');
    expect(keysOf(after, 'keep')).toEqual(keepBefore);
    expect((await fx.fleet.campaigns()).map((c) => c.campaign.name).sort()).toEqual(['finished', 'keep']);
    expect((await refusal(fx.fleet.deleteCampaign('gone'))).code).toBe('FR_ERR_CAMPAIGN_NOT_FOUND');
  });

  it('--force deletes a campaign still running, queues included', async () => {
    await importUsers('forced', 10, true);
    const result = await fx.fleet.deleteCampaign('forced', { force: true });
    expect(result.state).toBe('running');
    // Agents still serving it re-create a queue key or two (stalled checks) until their next discovery tick closes
    // their workers and sweeps them.
    await waitForNoKeys('forced');
  });

  it('archive writes the final report, keeps a summary and deletes the rest', async () => {
    const result = await fx.fleet.archiveCampaign('finished');
    expect(result).toMatchObject({ campaign: 'finished', state: 'done', users: 4 });
    const report = readFileSync(result.reportPath, 'utf8').trim().split('\n');
    expect(report).toHaveLength(5);
    expect(report.slice(1).every((line) => line.includes('applied'))).toBe(true);
    expect(keysOf(await allKeys(), 'finished')).toEqual([]);
    expect(await fx.fleet.archivedCampaigns()).toEqual([
      expect.objectContaining({ name: 'finished', state: 'done', totalUsers: 4, counts: { applied: 4 } }),
    ]);
  });

  it('prune archives the finished campaigns older than the retention, by the clock it is given', async () => {
    await importUsers('aged', 3, true);
    await fx.fleet.cancel('aged');
    expect(await fx.fleet.pruneCampaigns({ olderThanDays: 30 })).toEqual({
      archived: [],
      skipped: [],
      wouldArchive: [],
    });
    const later = await openFleet(fx.fleet.config, { now: () => Date.now() + 31 * DAY });
    try {
      // The agent may have started a user before the cancel: prune skips the campaign until that step has ended.
      const deadline = Date.now() + 10_000;
      let dryRun = await later.pruneCampaigns({ olderThanDays: 30, dryRun: true });
      while (dryRun.skipped.some((s) => s.campaign === 'aged') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        dryRun = await later.pruneCampaigns({ olderThanDays: 30, dryRun: true });
      }
      expect(dryRun).toEqual({ archived: [], skipped: [], wouldArchive: ['aged'] });
      expect(keysOf(await allKeys(), 'aged').length).toBeGreaterThan(0);
      const pruned = await later.pruneCampaigns({ olderThanDays: 30 });
      expect(pruned.archived.map((a) => a.campaign)).toEqual(['aged']);
      expect(keysOf(await allKeys(), 'aged')).toEqual([]);
      // 'keep' was never started: not finished, so kept whatever its age.
      expect((await later.campaigns()).map((c) => c.campaign.name)).toEqual(['keep']);
      expect((await refusal(later.pruneCampaigns({}))).code).toBe('FR_ERR_USAGE');
    } finally {
      await later.close();
    }
  });

  it('the CLI refuses with one line and exit 1, archives with --report-dir, and audits what it did', async () => {
    await importUsers('busy', 3, true, PARKED);
    const refused = runCli(fx.dir, fx.prefix, ['campaign', 'delete', 'busy']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^fleet-rollout: FR_ERR_CAMPAIGN_STATE: campaign busy is still working \(it is running\)/,
    );
    const archived = runCli(fx.dir, fx.prefix, ['campaign', 'archive', 'keep', '--report-dir', 'kept', '--json']);
    expect(archived.stderr).toBe('');
    expect(JSON.parse(archived.stdout)).toMatchObject({ campaign: 'keep', state: 'draft', users: 5 });
    expect(readFileSync(`${fx.dir}/${JSON.parse(archived.stdout).reportPath}`, 'utf8')).toContain('keep-u4');
    const forced = runCli(fx.dir, fx.prefix, ['campaign', 'delete', 'busy', '--force']);
    expect(forced.stdout).toContain('campaign busy deleted: 3 user(s)');
    const trail = (await fx.fleet.auditLog()).entries.map((e) => `${e.action} ${e.campaign} ${e.outcome}`);
    expect(trail.slice(0, 2)).toEqual([
      'campaign-delete busy deleted (was running), forced',
      expect.stringMatching(/^campaign-archive keep archived to kept\/keep-archive-\d{8}T\d{6}Z\.csv$/),
    ]);
    const listed = JSON.parse(runCli(fx.dir, fx.prefix, ['campaigns', '--archived', '--json']).stdout) as {
      name: string;
    }[];
    // Oldest archive first: 'aged' was archived by a clock 31 days ahead.
    expect(listed.map((a) => a.name)).toEqual(['finished', 'keep', 'aged']);
  });
});
