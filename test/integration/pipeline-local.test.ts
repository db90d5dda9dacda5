import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toProfileOptions, toRetryPolicy } from '../../src/config/campaign-settings.js';
import { createCampaignCache } from '../../src/jobs/campaign-cache.js';
import { processDeploy } from '../../src/jobs/deploy.js';
import { PAUSED_RECHECK_MS } from '../../src/jobs/generate.js';
import type { JobDeps } from '../../src/jobs/types.js';
import { createLogger } from '../../src/log/logger.js';
import { renderProfile } from '../../src/profile/render-profile.js';
import type { PipelineQueues } from '../../src/queue/types.js';
import { toUserKey } from '../../src/store/keys.js';
import { startAgent } from '../../src/workers/start-agent.js';
import { makeSpec, seedCampaign, waitForFinal, writeFault } from '../helpers/pipeline-campaign.js';
import { connectTestRedis, createTestPrefix, deletePrefix, TEST_REDIS_URL } from '../helpers/redis.js';

const prefix = createTestPrefix('pipeline-local');
const redis = connectTestRedis();
const root = mkdtempSync(join(tmpdir(), 'fleet-hosts-'));
const logger = createLogger({ level: 'silent' });

const agentConfig = {
  redisUrl: TEST_REDIS_URL,
  prefix,
  roles: ['generate', 'deploy'] as const,
  concurrency: 8,
  lockMs: 5000,
  stalledMs: 2000,
  maxStalls: 5,
  pollMs: 200,
  graceMs: 5000,
  localRoot: root,
  logger,
};

async function waitForIdleQueues(queues: PipelineQueues, campaign: string): Promise<void> {
  for (;;) {
    const counts = await queues.jobCounts(campaign);
    if (Object.values(counts).every((n) => n === 0)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function registryValue(host: string, user: string, name: string): string | undefined {
  const path = join(root, host, 'registry', user, 'Software/Microsoft/Office/16.0/Outlook/Setup', name);
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined;
}

let agent: Awaited<ReturnType<typeof startAgent>>;

beforeAll(async () => {
  agent = await startAgent(agentConfig);
});

afterAll(async () => {
  await agent?.stop();
  await deletePrefix(redis, prefix);
  await deletePrefix(redis, `${prefix}-p`);
  redis.disconnect();
  rmSync(root, { recursive: true, force: true });
});

describe('pipeline on the local transport', () => {
  it('applies a whole campaign, retries transient failures and never retries permanent ones', async () => {
    // 30 users on 6 hosts; host-busy answers 75 twice for user00001 then works; host-broken rejects user00002.
    const specs = Array.from({ length: 30 }, (_, i) => makeSpec(i, `ws-${i % 6}`));
    specs[1] = makeSpec(1, 'host-busy');
    specs[2] = makeSpec(2, 'host-broken');
    writeFault(root, 'host-busy', ['exit=75', 'times=2', 'user=user00001']);
    writeFault(root, 'host-broken', ['exit=65']);
    const { store } = await seedCampaign(redis, prefix, 'whole', specs);

    const counts = await waitForFinal(store, 'whole', 30);
    expect(counts.applied).toBe(29);
    expect(counts.failed).toBe(1);
    expect(await store.recount('whole')).toEqual(await store.countByState('whole'));

    // Every applied user really has the profile on its workstation, with the recorded checksum.
    for (const spec of specs.filter((s) => s.host !== 'host-broken')) {
      const user = await store.findUserByName('whole', spec.username);
      expect(user?.state).toBe('applied');
      expect(registryValue(spec.host!, spec.username, 'FleetRolloutChecksum')).toBe(user?.checksum);
      expect(registryValue(spec.host!, spec.username, 'ImportPRF')).toMatch(/whole\/user\d+\.prf$/);
    }

    const busy = await store.getUser('whole', toUserKey('user00001'));
    expect(busy?.attempts).toBe(3);
    const busyHistory = await store.getAttempts('whole', toUserKey('user00001'));
    expect(busyHistory.map((a) => a.outcome).sort()).toEqual(['applied', 'retrying', 'retrying']);
    expect(busyHistory.find((a) => a.outcome === 'retrying')).toMatchObject({
      code: 'FR_ERR_REMOTE_TEMPORARY',
      exitCode: 75,
    });

    const broken = await store.getUser('whole', toUserKey('user00002'));
    expect(broken).toMatchObject({ state: 'failed', attempts: 1 });
    expect(broken?.lastError).toMatchObject({
      failureClass: 'permanent',
      code: 'FR_ERR_REMOTE_BAD_ARTIFACT',
      exitCode: 65,
    });
    const brokenHistory = await store.getAttempts('whole', toUserKey('user00002'));
    expect(brokenHistory).toHaveLength(1);
    expect(brokenHistory[0]?.stderrTail).toContain('fault switch: exit 65');

    const campaign = await store.getCampaign('whole');
    expect(campaign?.state).toBe('done');
  });

  it('gives up when transient failures use up max_attempts, and records the cause', async () => {
    writeFault(root, 'host-down', ['exit=75']);
    const { store } = await seedCampaign(redis, prefix, 'exhaust', [makeSpec(100, 'host-down')], {
      retry: { max_attempts: 3, base_delay_seconds: 0.05, max_delay_seconds: 0.1, jitter: 0, horizon_hours: 1 },
    });
    await waitForFinal(store, 'exhaust', 1);
    const user = await store.getUser('exhaust', toUserKey('user00100'));
    expect(user).toMatchObject({ state: 'failed', attempts: 3 });
    expect(user?.lastError?.code).toBe('FR_ERR_ATTEMPTS_EXHAUSTED');
    expect(user?.lastError?.message).toContain('FR_ERR_REMOTE_TEMPORARY');
  });

  it('ignores jobs of a stale run and deploys the current one', async () => {
    const specs = [makeSpec(200, 'ws-stale'), makeSpec(201, 'ws-stale')];
    const { store, queues, queued } = await seedCampaign(redis, prefix, 'stale', specs, {}, { enqueue: false });
    const staleKey = toUserKey('user00200');
    // a re-import with an edited row gives the user run 2: the run-1 jobs below are stale
    const row = { line: 2, spec: specs[0]!, specHash: 'edited' };
    const newRun = (await store.upsertUsers('stale', [row], 2, Date.now())).queued[0]?.run;
    expect(newRun).toBe(2);
    await queues.enqueueGenerate('stale', queued);
    await queues.enqueueDeploy('stale', [{ userKey: staleKey, run: 1 }], 'apply');
    await waitForFinal(store, 'stale', 1);
    await waitForIdleQueues(queues, 'stale'); // the stale jobs have run too
    const stale = await store.getUser('stale', staleKey);
    expect(stale).toMatchObject({ state: 'queued', run: newRun, attempts: 0 });
    expect(await store.getAttempts('stale', staleKey)).toHaveLength(0);
    expect(registryValue('ws-stale', 'user00200', 'ImportPRF')).toBeUndefined();

    await queues.enqueueGenerate('stale', [{ userKey: staleKey, run: newRun! }]);
    await waitForFinal(store, 'stale', 2);
    expect((await store.getUser('stale', staleKey))?.state).toBe('applied');
    await queues.close();
  });

  it('times out a hung apply (AbortSignal, no BullMQ timeout) and retries it as transient', async () => {
    writeFault(root, 'host-hung', ['hang=1']);
    const { store } = await seedCampaign(redis, prefix, 'hung', [makeSpec(300, 'host-hung')], {
      retry: { max_attempts: 2, base_delay_seconds: 0.05, max_delay_seconds: 0.1, jitter: 0, horizon_hours: 1 },
      deploy: { transport: 'local', timeout_seconds: 0.3 },
    });
    await waitForFinal(store, 'hung', 1);
    const user = await store.getUser('hung', toUserKey('user00300'));
    expect(user).toMatchObject({ state: 'failed', attempts: 2 });
    expect(user?.lastError?.code).toBe('FR_ERR_ATTEMPTS_EXHAUSTED');
    const history = await store.getAttempts('hung', toUserKey('user00300'));
    expect(history.map((a) => a.code)).toEqual(['FR_ERR_ATTEMPTS_EXHAUSTED', 'FR_ERR_TRANSPORT_TIMEOUT']);
  });
});

describe('pause and resume', () => {
  it('a paused campaign takes no new user until resumed, and then loses none', async () => {
    writeFault(root, 'ws-pause', ['sleep=0.1']);
    const specs = Array.from({ length: 24 }, (_, i) => makeSpec(500 + i, 'ws-pause'));
    const { store, queues } = await seedCampaign(redis, prefix, 'pausing', specs);
    while (((await store.countByState('pausing')).applied ?? 0) < 3) await new Promise((r) => setTimeout(r, 20));
    await store.applyCampaignIntent('pausing', 'pause', 'test pause', Date.now());
    await queues.pause('pausing');
    // In-flight attempts finish; after that nothing moves.
    while (((await store.countByState('pausing')).deploying ?? 0) > 0) await new Promise((r) => setTimeout(r, 20));
    const frozen = await store.countByState('pausing');
    await new Promise((r) => setTimeout(r, 1000));
    expect(await store.countByState('pausing')).toEqual(frozen);
    expect(frozen.applied).toBeLessThan(24);

    await store.applyCampaignIntent('pausing', 'resume', 'test resume', Date.now());
    await queues.resume('pausing');
    expect((await waitForFinal(store, 'pausing', 24)).applied).toBe(24);
    await queues.close();
  });
});

describe('deploy processor without a Worker', () => {
  async function setUp(name: string, state: 'paused' | 'cancelled') {
    const seeded = await seedCampaign(redis, `${prefix}-p`, name, [makeSpec(400, 'ws-p')], {}, { enqueue: false });
    const userKey = toUserKey('user00400');
    const generated = await seeded.store.transition(name, userKey, { intent: 'generate-done', run: 1 }, Date.now());
    expect(generated).toMatchObject({ result: 'moved', state: 'generated' });
    await seeded.store.applyCampaignIntent(name, state === 'paused' ? 'pause' : 'cancel', 'test', Date.now());
    const deps: JobDeps = {
      store: seeded.store,
      queues: seeded.queues,
      logger,
      render: renderProfile,
      getCampaign: createCampaignCache(
        seeded.store,
        { toProfileOptions: (f) => toProfileOptions(f), toRetryPolicy },
        Date.now,
      ),
      getTransport: () => Promise.reject(new Error('the transport must not be used')),
      now: () => 1_000_000,
      random: () => 0.5,
      agentId: 'test:1',
    };
    const context = { signal: new AbortController().signal, stalls: 0, maxStalls: 5 };
    return { ...seeded, deps, context, userKey };
  }

  it('parks a job of a paused campaign instead of running or losing it', async () => {
    const { deps, context, userKey, store, queues } = await setUp('paused', 'paused');
    const disposition = await processDeploy({ campaign: 'paused', userKey, run: 1 }, 'apply', context, deps);
    expect(disposition).toEqual({ kind: 'delay', until: 1_000_000 + PAUSED_RECHECK_MS });
    expect((await store.getUser('paused', userKey))?.state).toBe('generated');
    await queues.close();
  });

  it('cancels the user of a cancelled campaign', async () => {
    const { deps, context, userKey, store, queues } = await setUp('cancelled', 'cancelled');
    expect(await processDeploy({ campaign: 'cancelled', userKey, run: 1 }, 'apply', context, deps)).toEqual({
      kind: 'done',
    });
    expect((await store.getUser('cancelled', userKey))?.state).toBe('cancelled');
    await queues.close();
  });
});
