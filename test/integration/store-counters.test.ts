import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignFileSchema } from '../../src/config/campaign-schema.js';
import { type TransitionIntent, USER_INTENTS } from '../../src/rollout/lifecycle.js';
import { FINAL_USER_STATES, USER_STATES, type UserState } from '../../src/rollout/states.js';
import { createStoreKeys } from '../../src/store/keys.js';
import { createRecordStore } from '../../src/store/record-store.js';
import type { AttemptRecord, CampaignRecord, RecordStore } from '../../src/store/types.js';
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
  const result = await store.upsertUsers(name, rows, 1, now);
  return result.queued.map((user) => user.userKey);
}

/** Walks a user through the lifecycle by intents (job of run `run`), expecting every step to move. */
async function walk(
  name: string,
  userKey: string,
  intents: readonly TransitionIntent[],
  now: number,
  run = 1,
): Promise<void> {
  for (const intent of intents) {
    expect(await store.transition(name, userKey, { intent, run }, now)).toMatchObject({ result: 'moved' });
  }
}

const TO_APPLIED: readonly TransitionIntent[] = ['generate-done', 'deploy-begin', 'deploy-succeeded'];

/** The intent whose outcome leads into each final state (what a second agent would report again). */
const INTO_FINAL: Partial<Record<UserState, TransitionIntent>> = {
  applied: 'deploy-succeeded',
  failed: 'deploy-failed-permanent',
  'rollback-failed': 'rollback-failed-permanent',
  'rolled-back': 'rollback-succeeded',
  cancelled: 'cancel',
  skipped: 'reject-row',
};

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
  it('equal a recount of the records after a random sequence of transitions, retries, doubles and stale runs', async () => {
    const t0 = 1_800_000_000_000;
    const userKeys = await seedUsers('random', 150, t0);
    await store.applyCampaignIntent('random', 'start', 'started', t0);
    // `remove` deletes the record (store.removeUsers), it is not a move between states
    const intents = USER_INTENTS.filter((intent) => intent !== 'remove');
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
        await store.transition('random', userKey, { intent: 'retry' }, now);
      } else if (roll < 0.2) {
        // a stale job (older run) must change nothing
        const result = await store.transition(
          'random',
          userKey,
          { intent: 'deploy-succeeded', run: user.run - 1 },
          now,
        );
        expect(result).toEqual({ result: 'stale', state: user.state, run: user.run });
        refusedStale += 1;
      } else if (roll < 0.3 && FINAL_USER_STATES.includes(user.state)) {
        // a second agent reporting the same final outcome again: changes nothing, counted once
        const before = await store.countByState('random');
        const intent = INTO_FINAL[user.state] as TransitionIntent;
        const result = await store.transition('random', userKey, { intent, run: user.run }, now);
        expect(['same', 'refused']).toContain(result.result);
        expect(result).toMatchObject({ state: user.state, run: user.run });
        expect(await store.countByState('random')).toEqual(before);
        expect(await store.getUser('random', userKey)).toEqual(user);
        idempotent += 1;
      } else {
        const intent = pick(intents);
        const code = random() < 0.5 ? `FR_ERR_TEST_${Math.floor(random() * 3)}` : undefined;
        await store.transition(
          'random',
          userKey,
          {
            intent,
            ...(random() < 0.8 && { run: user.run }),
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
    await store.applyCampaignIntent('double', 'start', 'started', t0);
    await walk('double', first!, TO_APPLIED, t0 + 60_000);
    // the second report is refused by the table (applied cannot take deploy-succeeded): the job re-reads the
    // record and finds its own run there (jobs/deploy-outcome.ts)
    const again = await store.transition('double', first!, { intent: 'deploy-succeeded', run: 1 }, t0 + 61_000);
    expect(again).toMatchObject({ result: 'refused', state: 'applied', run: 1 });
    expect((await store.countByState('double')).applied).toBe(1);
    // the duplicate changes nothing: the user finished when the first agent said so
    expect((await store.getUser('double', first!))?.finishedAt).toBe(t0 + 60_000);
    const completions = await store.completionsPerMinute('double', 2, t0 + 61_000);
    expect(completions.reduce((sum, [, n]) => sum + n, 0)).toBe(1);

    // a re-import with an edited row gives the user a new run (the `import` intent)
    const row = { line: 3, spec: makeSpec(1, 'ws-1', { site: 'site1' }), specHash: 'h2' };
    const reimported = await store.upsertUsers('double', [row], 2, t0 + 62_000);
    expect(reimported.queued).toEqual([{ userKey: second!, run: 2 }]);
    const stale = await store.transition('double', second!, { intent: 'generate-done', run: 1 }, t0 + 63_000);
    expect(stale).toEqual({ result: 'stale', state: 'queued', run: 2 });
    expect((await store.getUser('double', second!))?.state).toBe('queued');
    expect((await store.getCampaign('double'))?.state).toBe('running');
  });

  it('ends a running campaign when the last in-flight user reaches a final state', async () => {
    const t0 = 1_800_000_000_000;
    const [a, b] = await seedUsers('finish', 2, t0);
    await store.applyCampaignIntent('finish', 'start', 'started', t0);
    await walk('finish', a!, TO_APPLIED, t0 + 1);
    expect((await store.getCampaign('finish'))?.state).toBe('running');
    const failed = await store.transition(
      'finish',
      b!,
      {
        intent: 'generate-failed',
        run: 1,
        patch: { lastError: { failureClass: 'permanent', code: 'FR_ERR_X', message: 'no' } },
      },
      t0 + 2,
    );
    expect(failed).toEqual({ result: 'moved', state: 'failed', run: 1 });
    const campaign = await store.getCampaign('finish');
    expect(campaign?.state).toBe('done');
    expect(campaign?.finishedAt).toBe(t0 + 2);
    // a campaign whose users are all final cannot stay running: starting it again ends it at once
    expect((await store.applyCampaignIntent('finish', 'start', 'restart', t0 + 3)).campaign.state).toBe('done');
  });

  it('refuses campaign transitions the state machine forbids and unknown campaigns', async () => {
    const t0 = 1_800_000_000_000;
    await seedUsers('machine', 1, t0);
    await expect(store.applyCampaignIntent('machine', 'pause', 'x', t0)).rejects.toMatchObject({
      code: 'FR_ERR_CAMPAIGN_STATE',
    });
    expect((await store.getCampaign('machine'))?.state).toBe('draft');
    await expect(store.applyCampaignIntent('nope', 'start', 'x', t0)).rejects.toMatchObject({
      code: 'FR_ERR_CAMPAIGN_NOT_FOUND',
    });
    await expect(store.getCampaign('bad:name')).rejects.toMatchObject({ code: 'FR_ERR_CAMPAIGN_NAME_INVALID' });
  });

  it('keeps the attempt history to the last 20 with a stderr tail of at most 2 KB', async () => {
    const t0 = 1_800_000_000_000;
    const [userKey] = await seedUsers('attempts', 1, t0);
    await walk('attempts', userKey!, ['generate-done'], t0);
    // attempts are only added by a transition (the outcome of a step)
    for (let i = 1; i <= 25; i++) {
      await walk('attempts', userKey!, ['deploy-begin'], t0 + i);
      const attempt: AttemptRecord = {
        at: t0 + i,
        stage: 'apply',
        run: 1,
        attempt: i,
        durationMs: 5,
        outcome: 'retrying',
        stderrTail: `${'x'.repeat(5_000)}END${i}`,
      };
      const failed = { intent: 'deploy-failed-transient' as const, run: 1, attempt };
      expect(await store.transition('attempts', userKey!, failed, t0 + i)).toMatchObject({ result: 'moved' });
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
    expect(await store.transition('many', d, { intent: 'cancel', run: 1 }, t0 + 1)).toMatchObject({
      result: 'moved',
      state: 'cancelled',
    });
    const toGenerated = (run: number) => ({ intent: 'generate-done' as const, run });
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
    expect(results).toEqual([
      { result: 'moved', state: 'generated', run: 1 },
      { result: 'stale', state: 'queued', run: 1 },
      { result: 'moved', state: 'generated', run: 1 },
      { result: 'refused', state: 'cancelled', run: 1, reason: 'a user that is cancelled cannot take generate-done' },
      { result: 'absent' },
    ]);
    expect((await store.getUser('many', a))?.checksum).toBe('c1');
    expect((await store.getUser('many', b))?.state).toBe('queued');
    expect(await store.transitionMany('many', [], t0 + 3)).toEqual([]);
    expect(await store.recount('many')).toEqual(await store.countByState('many'));
    expect(await indexSizes('many')).toEqual(await store.countByState('many'));
  });

  it('records the attempt with the transition, once: a replayed or refused transition adds nothing', async () => {
    const t0 = 1_800_000_000_000;
    const [userKey] = await seedUsers('with-attempt', 1, t0);
    await walk('with-attempt', userKey!, ['generate-done'], t0);
    const attempt = (i: number): AttemptRecord => ({
      at: t0 + i,
      stage: 'apply',
      run: 1,
      attempt: i,
      durationMs: 5,
      outcome: 'retrying',
      stderrTail: `${'x'.repeat(5_000)}END${i}`,
    });
    for (let i = 1; i <= 25; i++) {
      await walk('with-attempt', userKey!, ['deploy-begin'], t0 + i);
      const move = { intent: 'deploy-failed-transient' as const, run: 1, attempt: attempt(i) };
      expect(await store.transition('with-attempt', userKey!, move, t0 + i)).toMatchObject({ result: 'moved' });
      // The same script sent again (ioredis replays it after a Redis restart): refused, no second entry.
      expect(await store.transition('with-attempt', userKey!, move, t0 + i)).toMatchObject({
        result: 'refused',
        state: 'retrying',
      });
    }
    await walk('with-attempt', userKey!, ['deploy-begin'], t0 + 30);
    const applied = {
      intent: 'deploy-succeeded' as const,
      run: 1,
      attempt: { ...attempt(26), outcome: 'applied' as const },
    };
    expect(await store.transition('with-attempt', userKey!, applied, t0 + 30)).toMatchObject({ result: 'moved' });
    // already there: refused by the table, nothing added
    expect(await store.transition('with-attempt', userKey!, applied, t0 + 31)).toMatchObject({
      result: 'refused',
      state: 'applied',
    });
    let attempts = await store.getAttempts('with-attempt', userKey!);
    expect(attempts.map((a) => a.attempt)).toEqual(Array.from({ length: 20 }, (_, i) => 26 - i));
    expect(attempts.some((a) => a.stale)).toBe(false);
    expect(attempts[0]?.stderrTail?.length).toBeLessThanOrEqual(2_048);
    // A job of a superseded run (the user was retried since): the state is untouched; its real outcome is kept
    // in the history once, marked stale (new behaviour: no outcome a workstation reports is discarded).
    expect(await store.transition('with-attempt', userKey!, { intent: 'retry' }, t0 + 32)).toMatchObject({
      result: 'moved',
      state: 'queued',
      run: 2,
    });
    expect(await store.transition('with-attempt', userKey!, applied, t0 + 33)).toEqual({
      result: 'stale',
      state: 'queued',
      run: 2,
    });
    attempts = await store.getAttempts('with-attempt', userKey!);
    expect(attempts).toHaveLength(20);
    expect(attempts[0]).toMatchObject({ attempt: 26, run: 1, outcome: 'applied', stale: true });
    expect(attempts.slice(1).map((a) => a.attempt)).toEqual(Array.from({ length: 19 }, (_, i) => 26 - i));
    expect(await store.recount('with-attempt')).toEqual(await store.countByState('with-attempt'));
  });
});
