import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toProfileOptions, toRetryPolicy } from '../../src/config/campaign-settings.js';
import { createCampaignCache } from '../../src/jobs/campaign-cache.js';
import { processDeploy } from '../../src/jobs/deploy.js';
import type { JobDeps } from '../../src/jobs/types.js';
import { createLogger } from '../../src/log/logger.js';
import { renderProfile } from '../../src/profile/render-profile.js';
import { toUserKey } from '../../src/store/keys.js';
import type { RecordStore } from '../../src/store/types.js';
import { createLocalTransport } from '../../src/transport/local/local-transport.js';
import { createFleetFixture, csvRow, type FleetFixture } from '../helpers/fleet-fixture.js';
import { writeFault } from '../helpers/pipeline-campaign.js';
import { connectTestRedis, startPrivateRedis } from '../helpers/redis.js';

/**
 * The defects of the lifecycle issue, each played as an admin would meet it: through the facade (openFleet), a real
 * Redis, real agents on the local transport and the POSIX stand-in as the workstation.
 */
let fx: FleetFixture;

beforeAll(async () => {
  fx = await createFleetFixture('lifecycle-defects');
  await fx.startAgent();
});

afterAll(async () => {
  await fx?.close();
});

const users = (prefix: string, n: number, host: (i: number) => string) =>
  Array.from({ length: n }, (_, i) => csvRow(`${prefix}${String(i).padStart(3, '0')}`, host(i)));

async function run(campaign: string, rows: readonly string[], settings = fx.settings()) {
  return fx.fleet.importCsv({
    campaign,
    source: { path: fx.writeCsv(`${campaign}-${Date.now()}.csv`, rows) },
    settings,
    allowRejects: false,
    start: true,
  });
}

describe('cancel records what really happened on the workstations', () => {
  it('keeps the real outcome of every step already running, and those users can be rolled back', async () => {
    for (let i = 0; i < 6; i++) writeFault(fx.root, `slow-${i}`, ['sleep=1.5']);
    const rows = [...users('cx', 6, (i) => `slow-${i}`), ...users('cw', 30, (i) => `slow-${i % 6}`)];
    await run('cancel-live', rows);
    await fx.waitFor('cancel-live', (c) => c.deploying >= 3);
    const result = await fx.fleet.cancel('cancel-live');
    expect(result.stillRunning).toBeGreaterThanOrEqual(3);
    expect(result.campaign.state).toBe('cancelled');
    const counts = await fx.waitFor('cancel-live', (c) => c.deploying === 0);
    // Every step that was on a host ended applied, with its attempt recorded; the others never started.
    expect(counts.applied).toBeGreaterThanOrEqual(result.stillRunning);
    expect(counts.applied + counts.cancelled).toBe(36);
    const { store } = fx.fleet.internals;
    for await (const page of store.scanUsers('cancel-live', { state: 'applied' })) {
      for (const user of page) {
        const history = await store.getAttempts('cancel-live', user.userKey);
        expect(history.filter((a) => a.outcome === 'applied')).toHaveLength(1);
      }
    }
    const rollback = await fx.fleet.rollback('cancel-live', {});
    expect(rollback.moved).toBe(counts.applied);
    const after = await fx.waitFor('cancel-live', (c) => c['rolled-back'] === counts.applied);
    expect(after.cancelled).toBe(counts.cancelled);
  }, 40_000);
});

describe('a failed rollback stays a rollback', () => {
  it('is rollback-failed with its stage, and retry retries the rollback instead of applying again', async () => {
    await run(
      'rb-fail',
      users('rb', 3, () => 'rb-host'),
    );
    await fx.waitFor('rb-fail', (c) => c.applied === 3);
    writeFault(fx.root, 'rb-host', ['exit=77']);
    expect((await fx.fleet.rollback('rb-fail', {})).moved).toBe(3);
    await fx.waitFor('rb-fail', (c) => c['rollback-failed'] === 3);
    const detail = await fx.fleet.user('rb-fail', 'rb000');
    expect(detail.user.stage).toBe('rollback');
    expect(detail.user.lastError).toMatchObject({ code: 'FR_ERR_REMOTE_PERMISSION', stage: 'rollback' });
    const rows = [];
    for await (const row of fx.fleet.report('rb-fail')) rows.push(row);
    expect(rows.map((r) => [r.state, r.stage])).toEqual(Array(3).fill(['rollback-failed', 'rollback']));

    writeFault(fx.root, 'rb-host', []);
    const retried = await fx.fleet.retry('rb-fail', {});
    expect(retried.moved).toBe(3);
    await fx.waitFor('rb-fail', (c) => c['rolled-back'] === 3);
    const history = await fx.fleet.internals.store.getAttempts('rb-fail', toUserKey('rb000'));
    expect(history[0]).toMatchObject({ stage: 'rollback', outcome: 'rolled-back' });
    expect(history.filter((a) => a.outcome === 'applied')).toHaveLength(1); // applied once, never again
  }, 30_000);

  it('marks a rollback waiting as rollback-queued with a new run in one step (no crash window leaves it queued)', async () => {
    await run(
      'rb-mark',
      users('rm', 2, () => 'rm-host'),
    );
    await fx.waitFor('rb-mark', (c) => c.applied === 2);
    const { store } = fx.fleet.internals;
    const before = await store.findUserByName('rb-mark', 'rm000');
    const moved = await store.transition('rb-mark', toUserKey('rm000'), { intent: 'rollback' }, Date.now());
    expect(moved).toMatchObject({ result: 'moved', state: 'rollback-queued', run: (before?.run ?? 0) + 1 });
    // No job was enqueued (as after a crash right after the move): a start hands it to the deploy queue as a
    // rollback, never as an apply.
    expect((await fx.fleet.campaign('rb-mark')).state).toBe('done');
    await fx.fleet.start('rb-mark');
    await fx.waitFor('rb-mark', (c) => c['rolled-back'] === 1);
    expect((await store.findUserByName('rb-mark', 'rm000'))?.state).toBe('rolled-back');
  }, 30_000);
});

describe('retry and report by cause', () => {
  it('--code matches the cause an exhausted retry wraps, and an unknown code is refused with the known ones', async () => {
    writeFault(fx.root, 'busy-host', ['exit=75']);
    await run(
      'by-cause',
      users('bc', 4, () => 'busy-host'),
      fx.settings({
        retry: { max_attempts: 2, base_delay_seconds: 0.05, max_delay_seconds: 0.05, jitter: 0, horizon_hours: 1 },
      }),
    );
    await fx.waitFor('by-cause', (c) => c.failed === 4);
    const user = await fx.fleet.user('by-cause', 'bc000');
    expect(user.user.lastError).toMatchObject({ code: 'FR_ERR_ATTEMPTS_EXHAUSTED', cause: 'FR_ERR_REMOTE_TEMPORARY' });
    const page = await fx.fleet.users('by-cause', { code: 'FR_ERR_REMOTE_TEMPORARY' }, { limit: 50 });
    expect(page.users).toHaveLength(4);
    await expect(fx.fleet.retry('by-cause', { code: 'FR_ERR_NOPE' })).rejects.toThrow(
      /unknown error code "FR_ERR_NOPE"; known codes: .*FR_ERR_REMOTE_TEMPORARY/,
    );
    writeFault(fx.root, 'busy-host', []);
    expect((await fx.fleet.retry('by-cause', { code: 'FR_ERR_REMOTE_TEMPORARY' })).moved).toBe(4);
    await fx.waitFor('by-cause', (c) => c.applied === 4);
  }, 30_000);
});

describe('the queues follow the campaign record', () => {
  it('a resume that died after writing the record is finished by the next resume, and by an agent tick', async () => {
    await fx.fleet.importCsv({
      campaign: 'heal',
      source: {
        path: fx.writeCsv(
          'heal.csv',
          users('hl', 2, () => 'heal-host'),
        ),
      },
      settings: fx.settings(),
      allowRejects: false,
    });
    await fx.fleet.start('heal');
    await fx.fleet.pause('heal');
    const { store, queues } = fx.fleet.internals;
    expect(await queues.isPaused('heal')).toBe(true);
    // The process dies between the two writes: the record says running, the queues are still paused.
    await store.applyCampaignIntent('heal', 'resume', 'resumed by an admin', Date.now());
    expect(await queues.isPaused('heal')).toBe(true);
    const again = await fx.fleet.resume('heal');
    expect(again.state).toBe('running');
    expect(await queues.isResumed('heal')).toBe(true);

    // Same crash the other way round; nobody types a command: the agent's discovery tick heals it.
    await store.applyCampaignIntent('heal', 'pause', 'paused by an admin', Date.now());
    const deadline = Date.now() + 5_000;
    while (!(await queues.isPaused('heal')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await queues.isPaused('heal')).toBe(true);
  }, 20_000);

  it('refuses to start a cancelled campaign instead of turning it done', async () => {
    await run(
      'no-restart',
      users('nr', 1, () => 'nr-host'),
    );
    await fx.fleet.cancel('no-restart');
    await expect(fx.fleet.start('no-restart')).rejects.toThrow(/cancelled: it was cancelled: retry or roll back users/);
    expect((await fx.fleet.campaign('no-restart')).state).toBe('cancelled');
  });
});

describe('re-importing a running campaign', () => {
  it('with changed profile settings re-deploys every user with the new settings, failing none', async () => {
    const rows = users('rs', 120, (i) => `rs-${i % 12}`);
    await run('resettings', rows, fx.settings({ profile: { cached_mode: false } }));
    await fx.waitFor('resettings', (c) => c.applied >= 20);
    const result = await run('resettings', rows, fx.settings({ profile: { cached_mode: true } }));
    expect(result.changed).toBe(120);
    const counts = await fx.waitFor('resettings', (c) => c.applied === 120, 40_000);
    expect(counts.failed).toBe(0);
    const { store } = fx.fleet.internals;
    for await (const page of store.scanUsers('resettings', {})) {
      for (const user of page) {
        const rendered = renderProfile(user.spec, toProfileOptions(fx.settings({ profile: { cached_mode: true } })));
        expect(rendered.ok && user.checksum).toBe(rendered.ok && rendered.artifact.sha256);
      }
    }
  }, 60_000);

  it('says how many users left the CSV, removes them with --prune, and removes one user on request', async () => {
    await run(
      'pruning',
      users('pr', 5, () => 'pr-host'),
    );
    await fx.waitFor('pruning', (c) => c.applied === 5);
    const three = users('pr', 3, () => 'pr-host');
    const kept = await fx.fleet.importCsv({
      campaign: 'pruning',
      source: { path: fx.writeCsv('pr3.csv', three) },
      allowRejects: false,
    });
    expect(kept).toMatchObject({ unchanged: 3, missing: 2, pruned: 0 });
    const pruned = await fx.fleet.importCsv({
      campaign: 'pruning',
      source: { path: fx.writeCsv('pr3b.csv', three) },
      allowRejects: false,
      prune: true,
    });
    expect(pruned).toMatchObject({ missing: 0, pruned: 2 });
    expect((await fx.fleet.status('pruning')).total).toBe(3);
    await expect(fx.fleet.user('pruning', 'pr004')).rejects.toThrow(/no user/);
    expect(await fx.fleet.remove('pruning', 'pr000')).toEqual({ removed: true });
    expect((await fx.fleet.internals.store.recount('pruning')).applied).toBe(2);
  }, 30_000);

  it('never throws away the outcome of a step already on the workstation (re-import, retry)', async () => {
    writeFault(fx.root, 'stale-host', ['sleep=1.2']);
    await run(
      'stale',
      users('st', 1, () => 'stale-host'),
    );
    await fx.waitFor('stale', (c) => c.deploying === 1);
    const retry = await fx.fleet.retry('stale', { user: 'st000' });
    expect(retry.moved).toBe(0);
    expect(Object.keys(retry.refused)).toEqual([
      'a deploy is running on the workstation: its outcome will be recorded first',
    ]);
    // The row becomes invalid (no host) while the step runs: the user is skipped, the outcome still recorded.
    const invalid = await fx.fleet.importCsv({
      campaign: 'stale',
      source: { path: fx.writeCsv('stale-bad.csv', [csvRow('st000', ''), csvRow('st001', 'stale-other')]) },
      allowRejects: true,
    });
    expect(invalid.rejected).toBe(1);
    const { store } = fx.fleet.internals;
    expect((await store.findUserByName('stale', 'st000'))?.state).toBe('skipped');
    const deadline = Date.now() + 10_000;
    let history = await store.getAttempts('stale', toUserKey('st000'));
    while (history.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      history = await store.getAttempts('stale', toUserKey('st000'));
    }
    expect(history[0]).toMatchObject({ outcome: 'applied', run: 1, stale: true });
    expect((await store.findUserByName('stale', 'st000'))?.backup).toBeDefined();
  }, 30_000);
});

describe('imports from a stream', () => {
  it('imports an upload (a stream) like a file, and records the hash of exactly the bytes imported', async () => {
    const { Readable } = await import('node:stream');
    const { createHash } = await import('node:crypto');
    const text = `${'username,mailbox,exchange_server,proxy,auth,host,site,office,profile_name'}\n${users('up', 3, () => 'up-host').join('\n')}\n`;
    const result = await fx.fleet.importCsv({
      campaign: 'uploaded',
      source: {
        stream: Readable.from([Buffer.from(text.slice(0, 50)), Buffer.from(text.slice(50))]),
        name: 'users (1).csv',
      },
      settings: fx.settings(),
      allowRejects: false,
    });
    expect(result).toMatchObject({ imported: true, added: 3 });
    const campaign = await fx.fleet.campaign('uploaded');
    expect(campaign.csvFile).toBe('users (1).csv');
    expect(campaign.csvSha256).toBe(createHash('sha256').update(text).digest('hex'));
  });
});

describe('imports that die half-way', () => {
  it('leave a campaign that says it is incomplete and never turns done; the same import then finishes it', async () => {
    const redis = await startPrivateRedis();
    const own = await createFleetFixture('partial-import', redis.url);
    const admin = connectTestRedis(redis.url);
    try {
      await own.startAgent();
      const rows = users('pi', 150, (i) => `pi-${i % 30}`);
      const csv = own.writeCsv('partial.csv', rows);
      const input = {
        campaign: 'partial',
        source: { path: csv },
        settings: own.settings(),
        allowRejects: false,
        start: true,
        batchSize: 20,
      };
      // Redis runs out of memory once 40 rows are written: cap it at what it uses then.
      const campaignKey = `${own.prefix}:fr:c:{partial}:meta`;
      const capper = (async () => {
        for (let i = 0; i < 2000; i++) {
          if (Number(await admin.hget(campaignKey, 'importWritten')) >= 40) {
            const used = Number((await admin.info('memory')).match(/used_memory:(\d+)/)?.[1]);
            await admin.config('SET', 'maxmemory', String(used + 4_000));
            return;
          }
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      await expect(own.fleet.importCsv(input)).rejects.toThrow(/OOM|maxmemory/);
      await capper;
      const status = await own.fleet.status('partial');
      expect(status.campaign.importState).toBe('writing');
      expect(status.campaign.importTotal).toBe(150);
      expect(status.campaign.importWritten).toBeLessThan(150);
      const { describeImportState } = await import('../../src/campaign/format-status.js');
      expect(describeImportState(status)).toMatch(
        /^incomplete: [\d,]+ of 150 rows written .* run import again to finish$/,
      );
      // Agents finish every user written so far; the campaign still does not claim to be done.
      await new Promise((r) => setTimeout(r, 1500));
      expect((await own.fleet.campaign('partial')).state).toBe('running');

      await admin.config('SET', 'maxmemory', '0');
      const finished = await own.fleet.importCsv(input);
      expect(finished.imported).toBe(true);
      await own.waitFor('partial', (c) => c.applied === 150, 60_000);
      const done = await own.fleet.campaign('partial');
      expect(done).toMatchObject({ state: 'done', importState: 'complete', totalUsers: 150 });
    } finally {
      admin.disconnect();
      await own.close();
      await redis.stop();
    }
  }, 90_000);
});

describe('a deploy step and its bookkeeping', () => {
  async function setUp(name: string): Promise<{ deps: JobDeps; store: RecordStore; userKey: string; redis: Redis }> {
    await fx.fleet.importCsv({
      campaign: name,
      source: {
        path: fx.writeCsv(
          `${name}.csv`,
          users('bk', 1, () => 'bk-host'),
        ),
      },
      settings: fx.settings(),
      allowRejects: false,
    });
    const { store, queues, redis } = fx.fleet.internals;
    await store.applyCampaignIntent(name, 'start', 'test', Date.now());
    const userKey = toUserKey('bk000');
    await store.transition(
      name,
      userKey,
      { intent: 'generate-done', run: 1, patch: { checksum: 'f'.repeat(64) } },
      Date.now(),
    );
    const transport = createLocalTransport({ root: fx.root, scriptPath: 'agent/posix/apply-profile.sh' });
    const deps: JobDeps = {
      store,
      queues,
      logger: createLogger({ level: 'silent' }),
      render: renderProfile,
      getCampaign: createCampaignCache(
        store,
        { toProfileOptions: (f) => toProfileOptions(f), toRetryPolicy },
        Date.now,
      ),
      getTransport: async () => transport,
      now: Date.now,
      random: () => 0.5,
      agentId: 'test:1',
    };
    return { deps, store, userKey, redis };
  }

  it('a Redis error while recording a success is retried as infrastructure, never recorded as the user failing', async () => {
    const { deps, store, userKey } = await setUp('bookkeeping');
    let failures = 0;
    const flaky: RecordStore = {
      ...store,
      transition: async (campaign, key, transition, now) => {
        if (transition.intent === 'deploy-succeeded' && failures < 2) {
          failures += 1;
          throw new Error("READONLY You can't write against a read only replica.");
        }
        return store.transition(campaign, key, transition, now);
      },
    };
    const context = { signal: new AbortController().signal, stalls: 0, maxStalls: 5 };
    const disposition = await processDeploy({ campaign: 'bookkeeping', userKey, run: 1 }, 'apply', context, {
      ...deps,
      store: flaky,
    });
    expect(disposition).toEqual({ kind: 'done' });
    expect(failures).toBe(2);
    const user = await store.getUser('bookkeeping', userKey);
    expect(user).toMatchObject({ state: 'applied', attempts: 1 });
    expect(user?.lastError).toBeUndefined();
  }, 20_000);

  it('a profile that renders differently since generate (renderer upgrade) is deployed and its checksum recorded', async () => {
    const { deps, store, userKey } = await setUp('rerender');
    const context = { signal: new AbortController().signal, stalls: 0, maxStalls: 5 };
    await processDeploy({ campaign: 'rerender', userKey, run: 1 }, 'apply', context, deps);
    const user = await store.getUser('rerender', userKey);
    expect(user?.state).toBe('applied');
    expect(user?.checksum).not.toBe('f'.repeat(64));
    expect(user?.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(user?.lastError).toBeUndefined();
  }, 20_000);
});

describe('events', () => {
  it('every move of a campaign and its users is on its event stream, in order, from any process', async () => {
    await run(
      'evented',
      users('ev', 2, () => 'ev-host'),
    );
    await fx.waitFor('evented', (c) => c.applied === 2);
    const events = await fx.fleet.recentEvents('evented');
    const user = events.flatMap((e) =>
      (e.type === 'user-state-changed' || e.type === 'attempt-recorded') && e.userKey === toUserKey('ev000') ? [e] : [],
    );
    expect(user.map((e) => `${e.intent}:${e.to}`)).toEqual([
      'import:queued',
      'deploy-begin:deploying',
      'deploy-succeeded:applied',
    ]);
    // The generate stage says how many users a chunk generated, once per chunk.
    const generated = events.flatMap((e) => (e.type === 'users-generated' ? [e.count] : []));
    expect(generated.reduce((sum, n) => sum + n, 0)).toBe(2);
    expect(user.at(-1)?.type).toBe('attempt-recorded');
    const campaign = events.filter((e) => e.type === 'campaign-state-changed').map((e) => e.to);
    expect(campaign).toEqual(['running', 'done']);
    // A follower started now sees the next move live.
    const controller = new AbortController();
    const seen: string[] = [];
    const following = (async () => {
      for await (const event of fx.fleet.events('evented', { signal: controller.signal, blockMs: 200 })) {
        seen.push(
          event.type === 'campaign-state-changed'
            ? event.to
            : event.type === 'users-generated' || event.type === 'wave-promoted'
              ? 'g'
              : event.intent,
        );
        if (seen.length >= 2) controller.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    await fx.fleet.rollback('evented', { user: 'ev001' });
    await following;
    expect(seen).toEqual(['rollback', 'running']);
  }, 30_000);
});
