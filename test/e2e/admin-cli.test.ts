import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecordStore } from '../../src/store/record-store.js';
import type { RecordStore } from '../../src/store/types.js';
import { connectTestRedis, createTestPrefix, deletePrefix, findFreePort, TEST_REDIS_URL } from '../helpers/redis.js';

/** The admin commands of the built CLI against the real Redis, under a prefix of their own. */
const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const prefix = createTestPrefix('admin-cli');
const work = mkdtempSync(join(tmpdir(), 'fleet-e2e-admin-'));
let redis: Redis;
let store: RecordStore;

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: work,
    encoding: 'utf8',
    env: { ...process.env, REDIS_URL: TEST_REDIS_URL, FLEET_PREFIX: prefix, FLEET_DEBUG: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const HEADER = 'username,display_name,exchange_server,proxy,auth,host,site,office';
const ROWS = [
  'alice,Alice,exch01.contoso.fr,https://mail.contoso.fr,ntlm,ws-1.demo.lan,paris,2010',
  'bob,=HYPERLINK("http://evil"),exch01.contoso.fr,https://mail.contoso.fr,ntlm,ws-2.demo.lan,lyon,2010',
  'carol,Carol,exch01.contoso.fr,https://mail.contoso.fr,ntlm,ws-3.demo.lan,paris,2010',
  'dave,Dave,exch01.contoso.fr,http://mail.contoso.fr,basic,ws-4.demo.lan,paris,2010',
  'erin,+Erin,exch01.contoso.fr,https://mail.contoso.fr,ntlm,ws-5.demo.lan,lyon,2010',
];

/** What an agent does to a queued user whose apply fails for good: generate, begin, fail (with its attempt). */
async function failUser(username: string, code: string): Promise<void> {
  const user = (await store.findUserByName('e2e', username))!;
  const { userKey, run } = user;
  const lastError = { failureClass: 'permanent' as const, code, message: `@cmd ${code}`, stage: 'apply' as const };
  const attempt = {
    at: Date.now(),
    stage: 'apply' as const,
    run,
    attempt: 1,
    durationMs: 42,
    outcome: 'failed' as const,
    code,
    agent: 'host:1',
  };
  const moves = [
    { intent: 'generate-done' as const, run },
    { intent: 'deploy-begin' as const, run, patch: { attempts: 1, stage: 'apply' as const } },
    { intent: 'deploy-failed-permanent' as const, run, patch: { lastError }, attempt },
  ];
  for (const move of moves) {
    expect(await store.transition('e2e', userKey, move, Date.now())).toMatchObject({ result: 'moved' });
  }
}

beforeAll(() => {
  writeFileSync(join(work, 'users.csv'), `${[HEADER, ...ROWS].join('\n')}\n`);
  redis = connectTestRedis();
  store = createRecordStore(redis, prefix);
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
  rmSync(work, { recursive: true, force: true });
});

describe('admin CLI', () => {
  it('import refuses a CSV with rejected rows (exit 2, report written, nothing recorded)', () => {
    const run = cli('import', 'users.csv', '--campaign', 'e2e');
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('4 valid, 1 rejected');
    expect(run.stdout).toContain('nothing imported');
    const report = readFileSync(join(work, 'reports/e2e-rejected.csv'), 'utf8');
    expect(report).toMatch(/^line,column,value,reason\r\n5,auth,basic,/);
    const list = cli('campaigns', '--json');
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });

  it('import --allow-rejects records the valid users; campaigns and status show them', () => {
    const run = cli('import', 'users.csv', '--campaign', 'e2e', '--allow-rejects', '--json');
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ campaign: 'e2e', valid: 4, rejected: 1, added: 4, queued: 4 });
    const list = JSON.parse(cli('campaigns', '--json').stdout) as Array<Record<string, unknown>>;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ campaign: { name: 'e2e', state: 'draft', imports: 1 }, total: 5 });
    const status = cli('status', 'e2e', '--json', '--verify');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      counts: { queued: 4, skipped: 1 },
      inFlight: 4,
      finished: 1,
      consistent: true,
    });
  });

  it('start runs the campaign; status text shows counts; unknown campaigns fail in one line', () => {
    const start = cli('start', 'e2e');
    expect(start.code).toBe(0);
    expect(start.stdout).toBe('campaign e2e: running, 4 user(s) enqueued\n');
    const status = cli('status', 'e2e');
    expect(status.stdout).toContain('campaign e2e: running');
    expect(status.stdout).toContain('queued 4 · skipped 1');
    const missing = cli('status', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('FR_ERR_CAMPAIGN_NOT_FOUND');
  });

  it('report streams one formula-safe row per user, filtered by state', async () => {
    await failUser('bob', 'FR_ERR_SSH_AUTH_FAILED');
    await failUser('erin', 'FR_ERR_REMOTE_PERMISSION');
    const csv = cli('report', 'e2e');
    expect(csv.code).toBe(0);
    const lines = csv.stdout.split('\r\n').filter(Boolean);
    expect(lines).toHaveLength(6);
    expect(lines[0]).toBe(
      'username,display_name,host,site,state,stage,attempts,last_error_code,last_error_cause,last_error_message,checksum,updated_at,finished_at',
    );
    const bob = lines.find((line) => line.startsWith('bob,'))!;
    expect(bob).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(bob).toContain(",'@cmd FR_ERR_SSH_AUTH_FAILED,");
    expect(lines.find((line) => line.startsWith('erin,'))).toContain(",'+Erin,");
    const failed = JSON.parse(cli('report', 'e2e', '--state', 'failed', '--format', 'json').stdout) as Array<
      Record<string, string>
    >;
    expect(failed.map((row) => row.username)).toEqual(['bob', 'erin']);
    const out = cli('report', 'e2e', '--state', 'failed', '--out', 'failed.csv');
    expect(out.code).toBe(0);
    expect(readFileSync(join(work, 'failed.csv'), 'utf8').split('\r\n').filter(Boolean)).toHaveLength(3);
  });

  it('retry re-queues the matching users and says how many', async () => {
    const byCode = cli('retry', 'e2e', '--code', 'FR_ERR_REMOTE_PERMISSION');
    expect(byCode.code).toBe(0);
    expect(byCode.stdout).toBe('retry e2e: 1 user(s) queued; campaign running\n');
    expect((await store.findUserByName('e2e', 'erin'))?.state).toBe('queued');
    const bySite = JSON.parse(cli('retry', 'e2e', '--site', 'paris', '--json').stdout);
    expect(bySite).toMatchObject({ campaign: 'e2e', moved: 0, refused: {}, campaignState: 'running' });
  });

  it('user shows the record and the attempt history', async () => {
    // bob's failed attempt was recorded with his failure (failUser): attempts come only with a transition
    const text = cli('user', 'e2e', 'BOB');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('bob (=HYPERLINK("http://evil")) in e2e: failed');
    expect(text.stdout).toMatch(/apply run 1 #1 failed FR_ERR_SSH_AUTH_FAILED 42 ms by host:1/);
    const json = JSON.parse(cli('user', 'e2e', 'bob', '--json').stdout);
    expect(json.user).toMatchObject({ username: 'bob', state: 'failed', site: 'lyon' });
    expect(json.attempts).toHaveLength(1);
    const missing = cli('user', 'e2e', 'zed');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('FR_ERR_USER_NOT_FOUND');
  });

  it('run imports and starts; pause and cancel act on the campaign', async () => {
    const run = cli('run', 'users.csv', '--campaign', 'e2e-run', '--allow-rejects');
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('started: 4 user(s) enqueued, campaign running');
    expect(cli('pause', 'e2e-run').stdout).toBe('campaign e2e-run: paused\n');
    const cancel = cli('cancel', 'e2e-run');
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toBe('campaign e2e-run: cancelled, 4 waiting user(s) cancelled\n');
    expect(await store.countByState('e2e-run')).toMatchObject({ cancelled: 4, skipped: 1, queued: 0 });
  });

  it('fails fast in one line when Redis cannot be reached', async () => {
    const port = await findFreePort();
    const run = cli('campaigns', '--redis-url', `redis://:hunter2@127.0.0.1:${port}`);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('FR_ERR_REDIS_UNREACHABLE');
    expect(run.stderr).not.toContain('hunter2');
  });
});
