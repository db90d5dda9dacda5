import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryUsers } from '../../src/campaign/act-on-users.js';
import { cancelCampaign, pauseCampaign, resumeCampaign } from '../../src/campaign/control-campaign.js';
import { importCampaign } from '../../src/campaign/import-campaign.js';
import { startCampaign } from '../../src/campaign/start-campaign.js';
import { formatReportCsv, streamReport } from '../../src/campaign/stream-report.js';
import { campaignFileSchema } from '../../src/config/campaign-schema.js';
import { createPipelineQueues } from '../../src/queue/pipeline-queues.js';
import type { PipelineQueues } from '../../src/queue/types.js';
import { createRecordStore } from '../../src/store/record-store.js';
import type { RecordStore, UserTransition } from '../../src/store/types.js';
import { connectTestRedis, createTestPrefix, deletePrefix } from '../helpers/redis.js';

const prefix = createTestPrefix('campaign-admin');
const HEADER = 'username,display_name,exchange_server,proxy,auth,host,site,office';
let redis: Redis;
let store: RecordStore;
let queues: PipelineQueues;
let dir: string;
let clock = 1_800_000_000_000;
const now = (): number => (clock += 1_000);

function userLine(i: number, overrides: { proxy?: string; display?: string; site?: string } = {}): string {
  const name = `u${String(i).padStart(3, '0')}`;
  const site = overrides.site ?? ['paris', 'lyon', 'lille'][i % 3];
  return [
    name,
    overrides.display ?? `User ${i}`,
    'exch01.contoso.fr',
    overrides.proxy ?? 'https://mail.contoso.fr',
    'ntlm',
    `ws-${i}.demo.lan`,
    site,
    '2010',
  ].join(',');
}

function writeCsv(name: string, lines: readonly string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${[HEADER, ...lines].join('\n')}\n`);
  return path;
}

async function runImport(campaign: string, csvPath: string, allowRejects = false) {
  return importCampaign(store, queues, {
    campaign,
    csvPath,
    settings: campaignFileSchema.parse({}),
    allowRejects,
    reportDir: join(dir, 'reports'),
    now: now(),
  });
}

/** Moves a user by intents, as the agents would (each step must move). */
async function walk(campaign: string, username: string, moves: ReadonlyArray<Omit<UserTransition, 'run'>>) {
  const user = (await store.findUserByName(campaign, username))!;
  for (const move of moves) {
    const result = await store.transition(campaign, user.userKey, { ...move, run: user.run }, now());
    expect(result).toMatchObject({ result: 'moved' });
  }
}

/** A queued user taken to the workstation: generated, then its apply step begins. */
const TO_DEPLOYING: ReadonlyArray<Omit<UserTransition, 'run'>> = [
  { intent: 'generate-done' },
  { intent: 'deploy-begin', patch: { attempts: 1, stage: 'apply' } },
];

async function fail(campaign: string, username: string, code: string): Promise<void> {
  const lastError = {
    failureClass: 'permanent' as const,
    code,
    message: `${code} on ${username}`,
    stage: 'apply' as const,
  };
  await walk(campaign, username, [...TO_DEPLOYING, { intent: 'deploy-failed-permanent', patch: { lastError } }]);
}

async function apply(campaign: string, username: string): Promise<void> {
  await walk(campaign, username, [...TO_DEPLOYING, { intent: 'deploy-succeeded' }]);
}

beforeAll(() => {
  redis = connectTestRedis();
  store = createRecordStore(redis, prefix);
  queues = createPipelineQueues(redis, prefix);
  dir = mkdtempSync(join(tmpdir(), 'fleet-admin-'));
});

afterAll(async () => {
  await queues.close();
  await deletePrefix(redis, prefix);
  await redis.quit();
  rmSync(dir, { recursive: true, force: true });
});

describe('import', () => {
  it('writes nothing to Redis when a row is rejected, and lists the rejections formula-safely', async () => {
    const csv = writeCsv('bad.csv', [
      userLine(1),
      userLine(2, { proxy: 'http://mail.contoso.fr:8080' }),
      '=cmd|x,Evil,exch01,https://m.contoso.fr,ntlm,ws-9,paris,2010',
    ]);
    const result = await runImport('rejects', csv);
    expect(result).toMatchObject({ valid: 1, rejected: 2, queued: 0, imported: false });
    expect(await store.getCampaign('rejects')).toBeUndefined();
    expect(await redis.exists(`${prefix}:fr:c:{rejects}:count`)).toBe(0);
    const report = readFileSync(result.reportPath!, 'utf8').split('\r\n');
    expect(report[0]).toBe('line,column,value,reason');
    expect(report[1]?.startsWith('3,proxy,')).toBe(true);
    expect(report[2]).toMatch(/^4,username,'=cmd\|x,/);
  });

  it('with allowRejects queues the valid rows only and records readable usernames as skipped', async () => {
    const csv = writeCsv('bad2.csv', [
      userLine(1),
      userLine(2),
      'u003,X,exch01,https://mail.contoso.fr,kerberos,ws-3,paris,2010',
      'bad/user,X,exch01,https://mail.contoso.fr,ntlm,ws-5,paris,2010',
      'u004,X,exch01,https://mail.contoso.fr,ntlm,ws-4,paris,1999',
    ]);
    const result = await runImport('partial', csv, true);
    expect(result).toMatchObject({ valid: 2, rejected: 3, added: 2, queued: 2, imported: true });
    const counts = await store.countByState('partial');
    expect(counts.queued).toBe(2);
    expect(counts.skipped).toBe(2);
    const skipped = await store.findUserByName('partial', 'U004');
    expect(skipped?.state).toBe('skipped');
    expect(skipped?.lastError?.code).toMatch(/^FR_ERR_ROW_/);
    expect((await store.getCampaign('partial'))?.rejectedRows).toBe(3);
  });

  it('re-importing the same CSV queues nobody; an edited CSV re-queues only the changed users', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => userLine(i));
    const first = await runImport('reimport', writeCsv('r1.csv', lines));
    expect(first).toMatchObject({ valid: 30, added: 30, queued: 30, rejected: 0 });
    expect(first.reportPath).toBeUndefined();
    const again = await runImport('reimport', writeCsv('r1.csv', lines));
    expect(again).toMatchObject({ added: 0, changed: 0, unchanged: 30, queued: 0 });
    await apply('reimport', 'u005');
    await apply('reimport', 'u006');
    const edited = [...lines];
    edited[5] = userLine(5, { proxy: 'https://owa.contoso.fr' });
    edited[7] = userLine(7, { site: 'nantes' });
    edited.push(userLine(30));
    const third = await runImport('reimport', writeCsv('r2.csv', edited));
    expect(third).toMatchObject({ added: 1, changed: 2, unchanged: 28, queued: 3 });
    const u5 = await store.findUserByName('reimport', 'u005');
    expect(u5).toMatchObject({ state: 'queued', run: 2 });
    expect((await store.findUserByName('reimport', 'u006'))?.state).toBe('applied');
    expect((await store.findUserByName('reimport', 'u007'))?.site).toBe('nantes');
    const campaign = await store.getCampaign('reimport');
    expect(campaign).toMatchObject({ imports: 3, totalUsers: 31, state: 'draft' });
    expect(await store.countByState('reimport')).toEqual(await store.recount('reimport'));
  });
});

describe('start, pause, resume, cancel', () => {
  it('start enqueues every queued user; a second start adds no job; cancel ends waiting users, not a step on a host', async () => {
    await runImport(
      'lifecycle',
      writeCsv(
        'l.csv',
        Array.from({ length: 12 }, (_, i) => userLine(i)),
      ),
    );
    const started = await startCampaign(store, queues, 'lifecycle', now());
    expect(started.campaign.state).toBe('running');
    expect(started.enqueued).toBe(12);
    const jobs = await queues.jobCounts('lifecycle');
    await startCampaign(store, queues, 'lifecycle', now());
    expect(await queues.jobCounts('lifecycle')).toEqual(jobs);
    expect((await pauseCampaign(store, queues, 'lifecycle', now())).state).toBe('paused');
    await expect(pauseCampaign(store, queues, 'nope', now())).rejects.toMatchObject({
      code: 'FR_ERR_CAMPAIGN_NOT_FOUND',
    });
    expect((await resumeCampaign(store, queues, 'lifecycle', now())).state).toBe('running');
    await apply('lifecycle', 'u000');
    // u001's apply is running on its workstation: cancel starts no new step but lets this one finish
    await walk('lifecycle', 'u001', TO_DEPLOYING);
    const cancelled = await cancelCampaign(store, queues, 'lifecycle', now());
    expect(cancelled).toMatchObject({ cancelled: 10, stillRunning: 1 });
    expect(cancelled.campaign.state).toBe('cancelled');
    expect(await store.countByState('lifecycle')).toMatchObject({ applied: 1, cancelled: 10, deploying: 1, queued: 0 });
    // its real outcome is recorded when it arrives
    await walk('lifecycle', 'u001', [{ intent: 'deploy-succeeded' }]);
    expect(await store.countByState('lifecycle')).toMatchObject({ applied: 2, cancelled: 10, deploying: 0 });
    expect((await store.getCampaign('lifecycle'))?.state).toBe('cancelled');
    const after = await queues.jobCounts('lifecycle');
    expect(Object.entries(after).filter(([k, n]) => k.endsWith('waiting') && n > 0)).toEqual([]);
  });
});

describe('retry and report filters', () => {
  beforeAll(async () => {
    await runImport(
      'filters',
      writeCsv(
        'f.csv',
        Array.from({ length: 9 }, (_, i) => userLine(i, { display: i === 4 ? '=HYPERLINK("http://x")' : `User ${i}` })),
      ),
    );
    await startCampaign(store, queues, 'filters', now());
    // u000 paris, u001 lyon, u002 lille, u003 paris, …
    await fail('filters', 'u000', 'FR_ERR_SSH_AUTH_FAILED');
    await fail('filters', 'u001', 'FR_ERR_SSH_AUTH_FAILED');
    await fail('filters', 'u002', 'FR_ERR_REMOTE_PERMISSION');
    await fail('filters', 'u003', 'FR_ERR_REMOTE_PERMISSION');
    for (const name of ['u004', 'u005', 'u006', 'u007']) await apply('filters', name);
    // u008 never started (still queued)
  });

  it('reports one formula-safe row per user, filtered by state and code', async () => {
    const rows = [];
    for await (const row of streamReport(store, 'filters', { state: 'failed' })) rows.push(row);
    expect(rows.map((r) => r.username)).toEqual(['u000', 'u001', 'u002', 'u003']);
    expect(rows[0]).toMatchObject({
      last_error_code: 'FR_ERR_SSH_AUTH_FAILED',
      last_error_cause: '',
      site: 'paris',
      state: 'failed',
      stage: 'apply',
    });
    expect(rows[0]?.updated_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    let csv = '';
    for await (const chunk of formatReportCsv(streamReport(store, 'filters', {}))) csv += chunk;
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(
      'username,display_name,host,site,state,stage,attempts,last_error_code,last_error_cause,last_error_message,checksum,updated_at,finished_at',
    );
    expect(lines).toHaveLength(11); // header + 9 users + final empty string
    expect(lines.find((l) => l.startsWith('u004,'))).toContain(`"'=HYPERLINK(""http://x"")"`);
  });

  it('re-queues by code, by site, by user, then every failed user, and reopens a done campaign', async () => {
    expect(
      (await retryUsers(store, queues, 'filters', { code: 'FR_ERR_REMOTE_PERMISSION', site: 'lille' }, now())).moved,
    ).toBe(1);
    expect(await store.findUserByName('filters', 'u002')).toMatchObject({ state: 'queued', run: 2 });
    expect((await retryUsers(store, queues, 'filters', { site: 'lyon' }, now())).moved).toBe(1);
    expect((await retryUsers(store, queues, 'filters', { user: 'U005' }, now())).moved).toBe(1);
    expect((await store.findUserByName('filters', 'u005'))?.state).toBe('queued');
    for (const name of ['u001', 'u002', 'u005', 'u008']) await fail('filters', name, 'FR_ERR_REMOTE_FAILED');
    const campaign = await store.getCampaign('filters');
    expect(campaign?.state).toBe('done');
    const all = await retryUsers(store, queues, 'filters', {}, now());
    expect(all).toEqual({ moved: 6, refused: {}, campaignState: 'running' });
    expect(await store.countByState('filters')).toMatchObject({ queued: 6, failed: 0, applied: 3 });
    // users that never started are included when asked by state (Rundeck forgets them)
    expect((await retryUsers(store, queues, 'filters', { state: 'queued' }, now())).moved).toBe(6);
    // the campaign kept its settings
    expect((await store.getCampaign('filters'))?.settings).toEqual(campaignFileSchema.parse({}));
  });
});
