import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignFileSchema } from '../../src/config/campaign-schema.js';
import { FINAL_USER_STATES, USER_STATES, type UserState } from '../../src/rollout/states.js';
import { createStoreKeys } from '../../src/store/keys.js';
import { createRecordStore } from '../../src/store/record-store.js';
import type { CampaignRecord, RecordStore } from '../../src/store/types.js';
import { makeSpec } from '../helpers/pipeline-campaign.js';
import { connectTestRedis, createTestPrefix, deletePrefix } from '../helpers/redis.js';

const prefix = createTestPrefix('store-counters');
let redis: Redis;
let store: RecordStore;

function campaignRecord(name: string, now: number): CampaignRecord {
  return {
    name,
    state: 'draft',
    stateReason: 'imported',
    csvFile: 'users.csv',
    csvSha256: 'x',
    settings: campaignFileSchema.parse({}),
    imports: 1,
    totalUsers: 0,
    rejectedRows: 0,
    createdAt: now,
    updatedAt: now,
  };
}

/** Small deterministic PRNG so a failure can be replayed (mulberry32). */
function createRandom(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function seedUsers(name: string, count: number, now: number): Promise<string[]> {
  await store.saveCampaign(campaignRecord(name, now));
  const rows = Array.from({ length: count }, (_, i) => ({
    line: i + 2,
    spec: makeSpec(i, `ws-${i % 7}`, { site: `site${i % 3}` }),
    specHash: 'h1',
  }));
  const result = await store.upsertUsers(name, rows, now);
  return result.queued.map((user) => user.userKey);
}

async function indexSizes(name: string): Promise<Record<UserState, number>> {
  const keys = createStoreKeys(prefix);
  const sizes = {} as Record<UserState, number>;
  for (const state of USER_STATES) sizes[state] = await redis.zcard(keys.byState(name, state));
  return sizes;
}

beforeAll(() => {
  redis = connectTestRedis();
  store = createRecordStore(redis, prefix);
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('record store counters', () => {
  it('equal a recount of the records after a random sequence of transitions, requeues, doubles and stale runs', async () => {
    const t0 = 1_800_000_000_000;
    const userKeys = await seedUsers('random', 150, t0);
    await store.setCampaignState('random', 'running', 'started', t0);
    const random = createRandom(42);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    let refusedStale = 0;
    let idempotent = 0;
    for (let step = 0; step < 2_000; step++) {
      const userKey = pick(userKeys);
      const user = await store.getUser('random', userKey);
      if (!user) throw new Error('user vanished');
      const now = t0 + step * 1_000;
      const roll = random();
      if (roll < 0.1) {
        await store.requeue('random', userKey, now);
      } else if (roll < 0.2) {
        // a stale job (older run) must change nothing
        const ok = await store.transition('random', userKey, { run: user.run - 1, to: 'applied' }, now);
        expect(ok).toBe(false);
        refusedStale += 1;
      } else if (roll < 0.3 && FINAL_USER_STATES.includes(user.state)) {
        // a second agent reporting the same final state again: accepted, counted once
        const ok = await store.transition('random', userKey, { run: user.run, to: user.state }, now);
        expect(ok).toBe(true);
        idempotent += 1;
      } else {
        const to = pick(USER_STATES);
        const from = random() < 0.5 ? [pick(USER_STATES), pick(USER_STATES)] : undefined;
        const code = random() < 0.5 ? `FR_ERR_TEST_${Math.floor(random() * 3)}` : undefined;
        await store.transition(
          'random',
          userKey,
          {
            run: user.run,
            to,
            ...(from && { from }),
            patch: code
              ? { lastError: { failureClass: 'transient', code, message: 'boom' }, attempts: user.attempts + 1 }
              : { lastError: null },
          },
          now,
        );
      }
    }
    expect(refusedStale).toBeGreaterThan(0);
    expect(idempotent).toBeGreaterThan(0);
    const counts = await store.countByState('random');
    expect(counts).toEqual(await store.recount('random'));
    expect(await indexSizes('random')).toEqual(counts);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(150);
    // the code index holds exactly the users whose last error has that code
    for (const code of ['FR_ERR_TEST_0', 'FR_ERR_TEST_1', 'FR_ERR_TEST_2']) {
      const listed = new Set<string>();
      for await (const batch of store.scanUsers('random', { code })) for (const u of batch) listed.add(u.userKey);
      let expected = 0;
      for await (const batch of store.scanUsers('random', {})) {
        expected += batch.filter((u) => u.lastError?.code === code).length;
      }
      expect(listed.size).toBe(expected);
    }
  });

  it('counts a double `applied` once and refuses a job of an older run', async () => {
    const t0 = 1_800_000_000_000;
    const [first, second] = await seedUsers('double', 2, t0);
    await store.setCampaignState('double', 'running', 'started', t0);
    const applied = { run: 1, from: ['queued'] as UserState[], to: 'applied' as const };
    expect(await store.transition('double', first!, applied, t0 + 60_000)).toBe(true);
    expect(await store.transition('double', first!, { run: 1, to: 'applied' }, t0 + 61_000)).toBe(true);
    expect((await store.countByState('double')).applied).toBe(1);
    // the duplicate changes nothing: the user finished when the first agent said so
    expect((await store.getUser('double', first!))?.finishedAt).toBe(t0 + 60_000);
    const completions = await store.completionsPerMinute('double', 2, t0 + 61_000);
    expect(completions.reduce((sum, [, n]) => sum + n, 0)).toBe(1);

    const newRun = await store.requeue('double', second!, t0 + 62_000);
    expect(newRun).toBe(2);
    expect(await store.transition('double', second!, { run: 1, to: 'applied' }, t0 + 63_000)).toBe(false);
    expect((await store.getUser('double', second!))?.state).toBe('queued');
    expect((await store.getCampaign('double'))?.state).toBe('running');
  });

  it('ends a running campaign when the last in-flight user reaches a final state', async () => {
    const t0 = 1_800_000_000_000;
    const [a, b] = await seedUsers('finish', 2, t0);
    await store.setCampaignState('finish', 'running', 'started', t0);
    await store.transition('finish', a!, { run: 1, to: 'applied' }, t0 + 1);
    expect((await store.getCampaign('finish'))?.state).toBe('running');
    await store.transition(
      'finish',
      b!,
      { run: 1, to: 'failed', patch: { lastError: { failureClass: 'permanent', code: 'FR_ERR_X', message: 'no' } } },
      t0 + 2,
    );
    const campaign = await store.getCampaign('finish');
    expect(campaign?.state).toBe('done');
    expect(campaign?.finishedAt).toBe(t0 + 2);
    // a campaign whose users are all final cannot stay running: starting it again ends it at once
    expect((await store.setCampaignState('finish', 'running', 'restart', t0 + 3)).state).toBe('done');
  });

  it('refuses campaign transitions the state machine forbids and unknown campaigns', async () => {
    const t0 = 1_800_000_000_000;
    await seedUsers('machine', 1, t0);
    await expect(store.setCampaignState('machine', 'paused', 'x', t0)).rejects.toMatchObject({
      code: 'FR_ERR_CAMPAIGN_STATE',
    });
    await expect(store.setCampaignState('nope', 'running', 'x', t0)).rejects.toMatchObject({
      code: 'FR_ERR_CAMPAIGN_NOT_FOUND',
    });
    await expect(store.getCampaign('bad:name')).rejects.toMatchObject({ code: 'FR_ERR_CAMPAIGN_NAME_INVALID' });
  });

  it('keeps the attempt history to the last 20 with a stderr tail of at most 2 KB', async () => {
    const t0 = 1_800_000_000_000;
    const [userKey] = await seedUsers('attempts', 1, t0);
    for (let i = 1; i <= 25; i++) {
      await store.appendAttempt('attempts', userKey!, {
        at: t0 + i,
        stage: 'deploy',
        run: 1,
        attempt: i,
        durationMs: 5,
        outcome: 'retrying',
        stderrTail: `${'x'.repeat(5_000)}END${i}`,
      });
    }
    const attempts = await store.getAttempts('attempts', userKey!);
    expect(attempts).toHaveLength(20);
    expect(attempts[0]?.attempt).toBe(25);
    expect(attempts[0]?.stderrTail?.length).toBeLessThanOrEqual(2_048);
    expect(attempts[0]?.stderrTail?.endsWith('END25')).toBe(true);
  });

  it('moves many users in one call, each checked on its own', async () => {
    const t0 = 1_800_000_000_000;
    const keys = await seedUsers('many', 4, t0);
    const [a, b, c, d] = keys as [string, string, string, string];
    expect(await store.transition('many', d, { run: 1, to: 'cancelled' }, t0 + 1)).toBe(true);
    const toGenerated = (run: number) => ({ run, from: ['queued' as const], to: 'generated' as const });
    const results = await store.transitionMany(
      'many',
      [
        { userKey: a, transition: { ...toGenerated(1), patch: { checksum: 'c1' } } },
        { userKey: b, transition: toGenerated(2) }, // stale run
        { userKey: c, transition: toGenerated(1) },
        { userKey: d, transition: toGenerated(1) }, // not queued any more
        { userKey: 'f'.repeat(64), transition: toGenerated(1) }, // unknown user
      ],
      t0 + 2,
    );
    expect(results).toEqual([true, false, true, false, false]);
    expect((await store.getUser('many', a))?.checksum).toBe('c1');
    expect((await store.getUser('many', b))?.state).toBe('queued');
    expect(await store.transitionMany('many', [], t0 + 3)).toEqual([]);
    expect(await store.recount('many')).toEqual(await store.countByState('many'));
    expect(await indexSizes('many')).toEqual(await store.countByState('many'));
  });

  it('records the attempt with the transition, once: a replayed or refused transition adds nothing', async () => {
    const t0 = 1_800_000_000_000;
    const [userKey] = await seedUsers('with-attempt', 1, t0);
    const attempt = (i: number) => ({
      at: t0 + i,
      stage: 'deploy' as const,
      run: 1,
      attempt: i,
      durationMs: 5,
      outcome: 'retrying' as const,
      stderrTail: `${'x'.repeat(5_000)}END${i}`,
    });
    for (let i = 1; i <= 25; i++) {
      const to: UserState = i % 2 === 1 ? 'deploying' : 'retrying';
      const from: UserState[] = i % 2 === 1 ? ['queued', 'retrying'] : ['deploying'];
      const move = { run: 1, from, to, attempt: attempt(i) };
      expect(await store.transition('with-attempt', userKey!, move, t0 + i)).toBe(true);
      // The same script sent again (ioredis replays it after a Redis restart): refused, no second entry.
      expect(await store.transition('with-attempt', userKey!, move, t0 + i)).toBe(false);
    }
    const applied = { run: 1, from: ['deploying' as const], to: 'applied' as const, attempt: attempt(26) };
    expect(await store.transition('with-attempt', userKey!, applied, t0 + 30)).toBe(true);
    expect(await store.transition('with-attempt', userKey!, applied, t0 + 31)).toBe(true); // already there
    const stale = { ...applied, run: 2 };
    expect(await store.transition('with-attempt', userKey!, stale, t0 + 32)).toBe(false);
    const attempts = await store.getAttempts('with-attempt', userKey!);
    expect(attempts.map((a) => a.attempt)).toEqual(Array.from({ length: 20 }, (_, i) => 26 - i));
    expect(attempts[0]?.stderrTail?.length).toBeLessThanOrEqual(2_048);
    expect(await store.recount('with-attempt')).toEqual(await store.countByState('with-attempt'));
  });
});
