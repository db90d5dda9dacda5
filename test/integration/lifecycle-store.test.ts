import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignFileSchema } from '../../src/config/campaign-schema.js';
import { decideUserTransition, type TransitionIntent, USER_INTENTS } from '../../src/rollout/lifecycle.js';
import { USER_STATES, type UserState } from '../../src/rollout/states.js';
import { createStoreKeys, toUserKey } from '../../src/store/keys.js';
import { createRecordStore } from '../../src/store/record-store.js';
import type { RecordStore } from '../../src/store/types.js';
import { makeSpec } from '../helpers/pipeline-campaign.js';
import { connectTestRedis, createTestPrefix, deletePrefix } from '../helpers/redis.js';

/**
 * The Lua enforcer and the TypeScript table are one: every (state, intent) pair is played against real Redis and
 * must land where decideUserTransition says; random intent sequences keep counters, indexes and records in step.
 */
const prefix = createTestPrefix('lifecycle');
let redis: Redis;
let store: RecordStore;
const keys = createStoreKeys(prefix);

async function newCampaign(name: string): Promise<void> {
  const now = Date.now();
  await store.saveCampaign({
    name,
    state: 'running',
    stateReason: 'test',
    csvFile: 'users.csv',
    csvSha256: 'x',
    settings: campaignFileSchema.parse({}),
    imports: 1,
    totalUsers: 0,
    rejectedRows: 0,
    createdAt: now,
    updatedAt: now,
  });
}

/** A user forced into `state` (the test's own set-up: counters and index follow, as the scripts keep them). */
async function userIn(campaign: string, i: number, state: UserState): Promise<string> {
  const spec = makeSpec(i, `ws${i}.corp.example.com`);
  await store.upsertUsers(campaign, [{ line: i + 2, spec, specHash: `h${i}` }], 1, Date.now());
  const userKey = toUserKey(spec.username);
  await redis
    .multi()
    .hset(keys.user(campaign, userKey), 's', state)
    .zrem(keys.byState(campaign, 'queued'), userKey)
    .zadd(keys.byState(campaign, state), Date.now(), userKey)
    .hincrby(keys.counts(campaign), 'queued', -1)
    .hincrby(keys.counts(campaign), state, 1)
    .exec();
  return userKey;
}

beforeAll(() => {
  redis = connectTestRedis();
  store = createRecordStore(redis, prefix);
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('the Lua enforcer agrees with the transition table', () => {
  it('on every (state, intent) pair', async () => {
    await newCampaign('pairs');
    let i = 0;
    const disagreements: string[] = [];
    for (const state of USER_STATES) {
      for (const intent of USER_INTENTS) {
        i += 1;
        const userKey = await userIn('pairs', i, state);
        const expected = decideUserTransition(state, intent);
        const result =
          intent === 'remove'
            ? (await store.removeUsers('pairs', [userKey], Date.now()))[0]
            : await store.transition('pairs', userKey, { intent }, Date.now());
        if (intent !== 'remove') {
          // transition() never half-removes a user: removal is removeUsers' alone
          const viaTransition = await store.transition('pairs', userKey, { intent: 'remove' as never }, Date.now());
          expect(viaTransition.result === 'absent' || viaTransition.result === 'refused').toBe(true);
        }
        const after = await store.getUser('pairs', userKey);
        const landed = after ? after.state : 'removed';
        const ok = expected.ok
          ? landed === expected.to && (result?.result === 'moved' || result?.result === 'same')
          : landed === state && result?.result === 'refused';
        if (!ok) disagreements.push(`${state} × ${intent}: table ${JSON.stringify(expected)}, Redis ${landed}`);
        if (expected.ok && expected.newRun && after) expect(after.run).toBe(2);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('keeps counters equal to a recount, every user in exactly one state index and its stage index, under random intents', async () => {
    await newCampaign('random');
    const users = 6;
    const userKeys: string[] = [];
    for (let n = 0; n < users; n++) userKeys.push(await userIn('random', 1000 + n, 'queued'));
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: users - 1 }),
            fc.constantFrom(...USER_INTENTS),
            fc.boolean(),
            fc.constantFrom('apply' as const, 'rollback' as const, null, undefined),
          ),
          { minLength: 5, maxLength: 40 },
        ),
        async (steps) => {
          for (const [n, intent, asWorker, stage] of steps) {
            const userKey = userKeys[n] as string;
            const current = await store.getUser('random', userKey);
            if (!current || intent === 'remove') continue; // removal is covered above; keep the population
            // Workers name their run (sometimes a stale one); admins do not.
            const run = asWorker ? current.run - (intent.endsWith('-begin') ? 1 : 0) : undefined;
            await store.transition(
              'random',
              userKey,
              {
                intent: intent as TransitionIntent,
                ...(run !== undefined && { run }),
                ...(stage !== undefined && { patch: { stage } }),
              },
              Date.now(),
            );
          }
          const [counts, recount] = await Promise.all([store.countByState('random'), store.recount('random')]);
          expect(counts).toEqual(recount);
          for (const userKey of userKeys) {
            const memberships = await Promise.all(
              USER_STATES.map((state) => redis.zscore(keys.byState('random', state), userKey)),
            );
            expect(memberships.filter((score) => score !== null)).toHaveLength(1);
            const user = await store.getUser('random', userKey);
            expect(memberships[USER_STATES.indexOf(user?.state as UserState)]).not.toBeNull();
            // The stage index holds the user under its stage, and only there.
            const stages = await Promise.all(
              (['apply', 'rollback'] as const).map((s) => redis.zscore(keys.byStage('random', s), userKey)),
            );
            expect(stages.map((score) => score !== null)).toEqual([
              user?.stage === 'apply',
              user?.stage === 'rollback',
            ]);
          }
        },
      ),
      { numRuns: 40, seed: 7 },
    );
  });
});
