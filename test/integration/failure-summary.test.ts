import { afterAll, describe, expect, it } from 'vitest';
import { createFailureReader } from '../../src/store/failure-summary.js';
import { createStoreKeys } from '../../src/store/keys.js';
import { connectTestRedis, createTestPrefix, deletePrefix } from '../helpers/redis.js';

/** The reader alone, over index entries and user fields laid out as the store writes them (keys.ts, user-codec.ts). */
const prefix = createTestPrefix('failure-summary');
const redis = connectTestRedis();
const keys = createStoreKeys(prefix);
const reader = createFailureReader(redis, keys);

afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

async function seed(campaign: string, state: string, users: ReadonlyArray<Record<string, string>>, from = 0) {
  const pipeline = redis.pipeline();
  users.forEach((fields, i) => {
    const userKey = `${state}-${from + i}`;
    pipeline.hset(keys.user(campaign, userKey), { s: state, ...fields });
    pipeline.zadd(keys.byState(campaign, state), from + i, userKey);
  });
  await pipeline.exec();
}

describe('failure summary', () => {
  it('counts by underlying cause, site and host over both failed states', async () => {
    await seed('c1', 'failed', [
      { ec: 'FR_ERR_ATTEMPTS_EXHAUSTED', cc: 'FR_ERR_SSH_CONNECT', si: 'lyon', h: 'ws-1' },
      { ec: 'FR_ERR_ATTEMPTS_EXHAUSTED', cc: 'FR_ERR_SSH_CONNECT', si: 'lyon', h: 'ws-1' },
      { ec: 'FR_ERR_REMOTE_PERMISSION', si: 'paris', h: 'ws-2' },
    ]);
    await seed('c1', 'rollback-failed', [{ ec: 'FR_ERR_REMOTE_FAILED', si: 'paris', h: 'ws-3' }]);
    await seed('c1', 'applied', [{ si: 'paris', h: 'ws-9' }]);
    const summary = await reader.failures('c1', ['failed', 'rollback-failed']);
    expect(summary).toEqual({
      total: 4,
      sampled: 4,
      byCode: [
        { value: 'FR_ERR_SSH_CONNECT', count: 2 },
        { value: 'FR_ERR_REMOTE_FAILED', count: 1 },
        { value: 'FR_ERR_REMOTE_PERMISSION', count: 1 },
      ],
      bySite: [
        { value: 'lyon', count: 2 },
        { value: 'paris', count: 2 },
      ],
      topHosts: [
        { value: 'ws-1', count: 2 },
        { value: 'ws-2', count: 1 },
        { value: 'ws-3', count: 1 },
      ],
    });
    expect(await reader.failures('empty', ['failed'])).toMatchObject({ total: 0, sampled: 0, byCode: [] });
  });

  it('past its limit, describes the newest failures and says how many it read', async () => {
    await seed(
      'c2',
      'failed',
      Array.from({ length: 30 }, () => ({ ec: 'FR_ERR_OLD', si: 'lyon' })),
    );
    await seed(
      'c2',
      'failed',
      Array.from({ length: 10 }, () => ({ ec: 'FR_ERR_NEW', si: 'paris' })),
      30,
    );
    const summary = await reader.failures('c2', ['failed'], 10);
    expect(summary).toMatchObject({ total: 40, sampled: 10, byCode: [{ value: 'FR_ERR_NEW', count: 10 }] });
  });

  it('counts users waiting for a retry, with the earliest and latest planned attempt', async () => {
    const now = 1_800_000_000_000;
    await seed('c3', 'retrying', [
      { na: String(now + 60_000) },
      { na: String(now + 600_000) },
      { na: String(now - 1_000) }, // due already: its job is about to run, it is not waiting
    ]);
    expect(await reader.backoff('c3', now)).toEqual({ waiting: 2, nextAt: now + 60_000, lastAt: now + 600_000 });
    expect(await reader.backoff('none', now)).toEqual({ waiting: 0 });
  });
});
