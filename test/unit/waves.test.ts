import { describe, expect, it } from 'vitest';
import { countWave, exceedsFailureThreshold, judgeWave } from '../../src/rollout/wave-health.js';
import { assignWaves, parseWaveSize, resolveWaveSize, type WaveMember } from '../../src/rollout/waves.js';

const members = (n: number, sites: string[] = ['paris']): WaveMember[] =>
  Array.from({ length: n }, (_, i) => ({ username: `user${i}`, site: sites[i % sites.length] as string }));

describe('wave planner', () => {
  it('cuts a canary then waves of a size, the last taking the rest, in CSV order', () => {
    const plan = assignWaves(members(23), { canary: { count: 2 }, size: { count: 10 }, order: 'csv', seed: 's' });
    expect(plan.sizes).toEqual([2, 10, 10, 1]);
    expect(plan.canary).toBe(true);
    expect(plan.waveOf.slice(0, 4)).toEqual([1, 1, 2, 2]);
    expect(plan.waveOf[22]).toBe(4);
    expect(plan.order).toEqual([...Array(23).keys()]);
  });

  it('reads percentages of the whole campaign, rounded up, at least one user', () => {
    expect(resolveWaveSize({ percent: 1 }, 5000)).toBe(50);
    expect(resolveWaveSize({ percent: 1 }, 30)).toBe(1);
    expect(resolveWaveSize({ percent: 25 }, 10)).toBe(3);
    expect(resolveWaveSize({ count: 50 }, 10)).toBe(10);
    const plan = assignWaves(members(1000), { canary: { percent: 2 }, size: { percent: 25 }, order: 'csv', seed: 's' });
    expect(plan.sizes).toEqual([20, 250, 250, 250, 230]);
  });

  it('puts everyone after the canary in one wave without a size, and everyone in wave 1 without a canary', () => {
    expect(assignWaves(members(10), { canary: { count: 3 }, order: 'csv', seed: 's' }).sizes).toEqual([3, 7]);
    const single = assignWaves(members(10), { order: 'csv', seed: 's' });
    expect(single.sizes).toEqual([10]);
    expect(single.canary).toBe(false);
    expect(assignWaves([], { canary: { count: 3 }, order: 'csv', seed: 's' }).sizes).toEqual([]);
  });

  it('orders site by site: listed sites first, the others by first appearance, CSV order within a site', () => {
    const list = members(9, ['paris', 'lyon', 'nyc']);
    const plan = assignWaves(list, { size: { count: 3 }, order: 'site', seed: 's', siteOrder: ['nyc'] });
    expect(plan.order.map((i) => list[i]?.username)).toEqual([
      'user2',
      'user5',
      'user8', // nyc
      'user0',
      'user3',
      'user6', // paris
      'user1',
      'user4',
      'user7', // lyon
    ]);
    expect(plan.waveOf).toEqual([2, 3, 1, 2, 3, 1, 2, 3, 1]);
  });

  it('orders a seeded random shuffle: the same seed gives the same waves, another seed others', () => {
    const list = members(200);
    const settings = { canary: { count: 10 }, size: { count: 50 }, order: 'random' as const, seed: 'night-1' };
    const a = assignWaves(list, settings);
    expect(assignWaves(list, settings)).toEqual(a);
    expect(a.order).not.toEqual([...Array(200).keys()]);
    expect(assignWaves(list, { ...settings, seed: 'night-2' }).order).not.toEqual(a.order);
    // Each user's place depends only on the seed and its name: adding rows keeps the others' relative order.
    const more = [...list, ...members(50).map((m) => ({ ...m, username: `extra-${m.username}` }))];
    const kept = assignWaves(more, settings).order.filter((i) => i < 200);
    expect(kept).toEqual(a.order);
  });

  it('reads wave sizes from the campaign file and explains what it refuses', () => {
    expect(parseWaveSize(50)).toEqual({ count: 50 });
    expect(parseWaveSize('2.5%')).toEqual({ percent: 2.5 });
    expect(parseWaveSize(0)).toContain('whole number of users');
    expect(parseWaveSize('150%')).toContain('0 < % ≤ 100');
    expect(parseWaveSize('ten')).toContain('percentage');
  });
});

describe('halt rule (Ansible max_fail_percentage: strictly greater)', () => {
  const wave = { size: 20, applied: 0, failed: 0, retrying: 0, pending: 0, inFlight: 0 };

  it('continues at exactly the threshold and halts just above it', () => {
    expect(exceedsFailureThreshold(2, 20, 10)).toBe(false);
    expect(exceedsFailureThreshold(3, 20, 10)).toBe(true);
    expect(exceedsFailureThreshold(1, 3, 100 / 3)).toBe(false);
    expect(exceedsFailureThreshold(0, 20, 0)).toBe(false);
    expect(exceedsFailureThreshold(1, 20, 0)).toBe(true);
    expect(
      judgeWave({ ...wave, applied: 18, failed: 2 }, { maxFailPercent: 10, countRetryingAsFailed: false }).kind,
    ).toBe('promote');
    expect(
      judgeWave({ ...wave, applied: 17, failed: 3 }, { maxFailPercent: 10, countRetryingAsFailed: false }),
    ).toEqual({
      kind: 'halt',
      failures: 3,
      ratePercent: 15,
      reason: '3 of 20 users failed (15%), above max_fail_percent 10%',
    });
  });

  it('halts mid-wave once the failures alone exceed the threshold of the whole wave', () => {
    const running = { ...wave, applied: 2, failed: 3, pending: 15 };
    expect(judgeWave(running, { maxFailPercent: 10, countRetryingAsFailed: false }).kind).toBe('halt');
    expect(
      judgeWave({ ...running, failed: 2, pending: 16 }, { maxFailPercent: 10, countRetryingAsFailed: false }).kind,
    ).toBe('wait');
  });

  it('counts transient failures still retrying only with count_retrying_as_failed', () => {
    const counters = { ...wave, applied: 16, failed: 1, retrying: 3 };
    expect(judgeWave(counters, { maxFailPercent: 10, countRetryingAsFailed: false }).kind).toBe('promote');
    expect(judgeWave(counters, { maxFailPercent: 10, countRetryingAsFailed: true })).toMatchObject({
      kind: 'halt',
      failures: 4,
      reason: '4 of 20 users failed (20%, 3 still retrying), above max_fail_percent 10%',
    });
  });

  it('never halts without a threshold', () => {
    expect(judgeWave({ ...wave, failed: 20 }, { countRetryingAsFailed: true }).kind).toBe('promote');
  });

  it('promotes when every user was attempted, or with auto_promote_percent as soon as (and only when) enough applied', () => {
    const rule = { countRetryingAsFailed: false };
    expect(judgeWave({ ...wave, applied: 19, inFlight: 1 }, rule).kind).toBe('wait');
    const early = { ...wave, applied: 19, pending: 1 };
    expect(judgeWave(early, { ...rule, autoPromotePercent: 95 })).toMatchObject({
      kind: 'promote',
      reason: '19 of 20 applied, at least auto_promote_percent 95%',
    });
    const short = { ...wave, applied: 18, retrying: 2 };
    expect(judgeWave(short, { ...rule, autoPromotePercent: 95 })).toMatchObject({
      kind: 'wait',
      reason: expect.stringContaining('below auto_promote_percent 95%'),
    });
  });

  it('counts a wave from its users’ states, leaving out skipped and cancelled users', () => {
    expect(
      countWave({
        applied: 5,
        failed: 1,
        retrying: 2,
        queued: 1,
        generated: 1,
        deploying: 1,
        skipped: 4,
        cancelled: 2,
      }),
    ).toEqual({ size: 11, applied: 5, failed: 1, retrying: 2, pending: 2, inFlight: 1 });
  });
});

describe('wave planner (property)', () => {
  it('puts every user in exactly one wave, waves in rollout order, sizes summing to the campaign', async () => {
    const fc = await import('fast-check');
    const size = fc.oneof(
      fc.integer({ min: 1, max: 50 }).map((count) => ({ count })),
      fc.integer({ min: 1, max: 100 }).map((percent) => ({ percent })),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.option(size, { nil: undefined }),
        fc.option(size, { nil: undefined }),
        fc.constantFrom('csv' as const, 'site' as const, 'random' as const),
        (n, canary, each, order) => {
          const list = members(n, ['a', 'b', 'c']);
          const plan = assignWaves(list, {
            ...(canary && { canary }),
            ...(each && { size: each }),
            order,
            seed: 'p',
          });
          expect(plan.sizes.reduce((sum, s) => sum + s, 0)).toBe(n);
          expect([...plan.order].sort((x, y) => x - y)).toEqual([...Array(n).keys()]);
          const waves = plan.order.map((index) => plan.waveOf[index] as number);
          expect(waves).toEqual([...waves].sort((x, y) => x - y));
          expect(plan.sizes.every((s) => s >= 1)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
