import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCampaign } from '../../src/campaign/import-campaign.js';
import { startCampaign } from '../../src/campaign/start-campaign.js';
import { campaignFileSchema } from '../../src/config/campaign-schema.js';
import { createLogger } from '../../src/log/logger.js';
import { createPipelineQueues } from '../../src/queue/pipeline-queues.js';
import type { PipelineQueues } from '../../src/queue/types.js';
import { createRecordStore } from '../../src/store/record-store.js';
import type { RecordStore } from '../../src/store/types.js';
import { startAgent } from '../../src/workers/start-agent.js';
import { waitForFinal } from '../helpers/pipeline-campaign.js';
import { connectTestRedis, createTestPrefix, deletePrefix, TEST_REDIS_URL } from '../helpers/redis.js';

/**
 * `run` = import + start, overlapped: the campaign starts once every row is validated and each batch's users are
 * handed to the agents as soon as they are written. The campaign must not turn `done` while the import still
 * writes (agents may have caught up with every user written so far), and must end with counters == recount.
 */
const prefix = createTestPrefix('campaign-run');
const redis = connectTestRedis();
const dir = mkdtempSync(join(tmpdir(), 'fleet-run-'));
const root = join(dir, 'hosts');
const logger = createLogger({ level: 'silent' });
const USERS = 2_300; // three import batches of 1,000
const settings = campaignFileSchema.parse({
  defaults: { exchange_server: 'exch01.contoso.fr', proxy: 'https://mail.contoso.fr' },
  deploy: { transport: 'local', local_root: root },
});

function writeCsv(name: string, count: number, edit?: (i: number) => boolean): string {
  const lines = ['username,host,site,office'];
  for (let i = 0; i < count; i++) lines.push(`run${i},ws-${i % 50}.run.lan,site${i % 3},${edit?.(i) ? 2013 : 2010}`);
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

let agent: Awaited<ReturnType<typeof startAgent>>;
let store: RecordStore;
let queues: PipelineQueues;

beforeAll(async () => {
  store = createRecordStore(redis, prefix);
  queues = createPipelineQueues(redis, prefix);
  agent = await startAgent({
    redisUrl: TEST_REDIS_URL,
    prefix,
    roles: ['generate', 'deploy'],
    concurrency: 50,
    lockMs: 5000,
    stalledMs: 2000,
    maxStalls: 5,
    pollMs: 50,
    graceMs: 5000,
    localApply: 'noop',
    logger,
  });
});

afterAll(async () => {
  await agent?.stop();
  await queues.close();
  await deletePrefix(redis, prefix);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('run (import + start, overlapped)', () => {
  it('agents work while the import writes; the campaign is not done before the last batch; counters == recount', async () => {
    const csv = writeCsv('users.csv', USERS);
    // Hold the last batch back until agents have applied every user written so far: without the import guard
    // the campaign would turn `done` right there.
    let batches = 0;
    let stateWhileHeld: string | undefined;
    const gated: RecordStore = {
      ...store,
      async upsertUsers(campaign, rows, importNo, now) {
        batches += 1;
        if (batches === 3) {
          await waitFor(async () => (await store.countByState(campaign)).applied === 2_000);
          stateWhileHeld = (await store.getCampaign(campaign))?.state;
        }
        return store.upsertUsers(campaign, rows, importNo, now);
      },
    };
    const result = await importCampaign(gated, queues, {
      campaign: 'overlap',
      csvPath: csv,
      settings,
      allowRejects: false,
      reportDir: dir,
      start: true,
      now: Date.now(),
    });
    expect(result).toMatchObject({ imported: true, added: USERS, queued: USERS });
    expect(result.started?.enqueued).toBe(USERS);
    expect(stateWhileHeld).toBe('running');

    const counts = await waitForFinal(store, 'overlap', USERS);
    expect(counts.applied).toBe(USERS);
    await waitFor(async () => (await store.getCampaign('overlap'))?.state === 'done');
    expect(await store.recount('overlap')).toEqual(await store.countByState('overlap'));
    // One attempt recorded per user, by the transition itself.
    const sample = (await store.findUserByName('overlap', 'run7'))!;
    expect((await store.getAttempts('overlap', sample.userKey)).map((a) => a.outcome)).toEqual(['applied']);

    // Re-running the same CSV queues nobody; an edited CSV re-queues only the changed users; start adds nothing.
    const again = await importCampaign(store, queues, {
      campaign: 'overlap',
      csvPath: csv,
      settings,
      allowRejects: false,
      reportDir: dir,
      start: true,
      now: Date.now(),
    });
    expect(again).toMatchObject({ unchanged: USERS, queued: 0 });
    expect(again.started).toMatchObject({ enqueued: 0, campaign: { state: 'done' } });
    const edited = await importCampaign(store, queues, {
      campaign: 'overlap',
      csvPath: writeCsv('edited.csv', USERS, (i) => i % 100 === 0),
      settings,
      allowRejects: false,
      reportDir: dir,
      start: true,
      now: Date.now(),
    });
    expect(edited).toMatchObject({ changed: 23, unchanged: USERS - 23, queued: 23 });
    expect(edited.started?.enqueued).toBe(23);
    await waitFor(async () => (await store.getCampaign('overlap'))?.state === 'done');
    expect((await store.countByState('overlap')).applied).toBe(USERS);
    expect(await store.recount('overlap')).toEqual(await store.countByState('overlap'));
    expect((await startCampaign(store, queues, 'overlap', Date.now())).enqueued).toBe(0);
  }, 60_000);

  it('with a rejected row nothing is written, started or queued', async () => {
    const csv = join(dir, 'bad.csv');
    writeFileSync(csv, 'username,host\nok1,ws-1.run.lan\nbad/name,ws-2.run.lan\n');
    const result = await importCampaign(store, queues, {
      campaign: 'rejected',
      csvPath: csv,
      settings,
      allowRejects: false,
      reportDir: dir,
      start: true,
      now: Date.now(),
    });
    expect(result).toMatchObject({ imported: false, rejected: 1, queued: 0 });
    expect(result.started).toBeUndefined();
    expect(await store.getCampaign('rejected')).toBeUndefined();
    expect(await queues.jobCounts('rejected')).toMatchObject({ 'generate.waiting': 0 });
  });
});
