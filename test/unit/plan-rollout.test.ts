import { describe, expect, it } from 'vitest';
import { formatPlanText } from '../../src/rollout/format-plan.js';
import { planRollout } from '../../src/rollout/plan-rollout.js';
import type { MaintenanceWindow, RolloutSchedule } from '../../src/rollout/schedule.js';

const at = (iso: string) => Date.parse(iso);
const MIN = 60_000;
const daily = (startMinute: number, endMinute: number): MaintenanceWindow => ({
  days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
  startMinute,
  endMinute,
});
const users = (n: number, site?: string, prefix = site ?? 'u') =>
  Array.from({ length: n }, (_, i) => ({ username: `${prefix}${i + 1}`, ...(site !== undefined && { site }) }));

describe('planRollout', () => {
  it('plans two sites in two zones, each deployed inside its own night window', () => {
    const schedule: RolloutSchedule = {
      campaign: { timezone: 'Europe/Paris', windows: [daily(22 * 60, 6 * 60)] },
      sites: { newyork: { timezone: 'America/New_York', windows: [daily(22 * 60, 6 * 60)] } },
    };
    const plan = planRollout({
      users: [...users(4, 'paris'), ...users(4, 'newyork')],
      soakMs: 0,
      schedule,
      perUserMs: 30 * MIN,
      concurrency: 2,
      now: at('2026-12-08T12:00:00Z'),
    });
    // Paris opens at 21:00Z: 4 users, 2 at a time, 30 min each. New York opens at 03:00Z.
    expect(plan.waves).toEqual([
      {
        number: 1,
        canary: false,
        users: 8,
        sites: [
          { site: 'paris', usernames: ['paris1', 'paris2', 'paris3', 'paris4'] },
          { site: 'newyork', usernames: ['newyork1', 'newyork2', 'newyork3', 'newyork4'] },
        ],
        startsAt: at('2026-12-08T21:00:00Z'),
        finishesAt: at('2026-12-09T04:00:00Z'),
      },
    ]);
    expect(plan.finishAt).toBe(at('2026-12-09T04:00:00Z'));
    expect(plan.sites.map((site) => [site.site, site.users, site.nextOpenings[0]?.start])).toEqual([
      ['paris', 4, at('2026-12-08T21:00:00Z')],
      ['newyork', 4, at('2026-12-09T03:00:00Z')],
    ]);
  });

  it('runs waves one after the other with the soak time between them', () => {
    const plan = planRollout({
      users: users(9),
      waves: { canary: { count: 1 }, size: { count: 4 }, order: 'csv', seed: 's' },
      soakMs: 60 * MIN,
      perUserMs: 10 * MIN,
      concurrency: 2,
      now: 0,
    });
    expect(plan.waves.map((wave) => [wave.number, wave.canary, wave.users, wave.startsAt, wave.finishesAt])).toEqual([
      [1, true, 1, 0, 10 * MIN],
      [2, false, 4, 70 * MIN, 90 * MIN],
      [3, false, 4, 150 * MIN, 170 * MIN],
    ]);
    expect(plan.finishAt).toBe(170 * MIN);
  });

  it('starts no deploy that would not fit in what is left of the window', () => {
    const plan = planRollout({
      users: users(4),
      soakMs: 0,
      schedule: { campaign: { timezone: 'UTC', windows: [daily(22 * 60, 22 * 60 + 25)] }, sites: {} },
      perUserMs: 10 * MIN,
      concurrency: 1,
      now: at('2026-12-08T12:00:00Z'),
    });
    // 22:00 and 22:10 fit; 22:20 + 10 min would end after 22:25: the next two go the next night.
    expect(plan.finishAt).toBe(at('2026-12-09T22:20:00Z'));
  });

  it('honours start_at and the per-site cap', () => {
    const plan = planRollout({
      users: [...users(4, 'a'), ...users(4, 'b')],
      soakMs: 0,
      schedule: { startAt: 60 * MIN, campaign: { timezone: 'UTC', windows: [] }, sites: {} },
      perUserMs: 10 * MIN,
      concurrency: 10,
      perSiteCap: 2,
      now: 0,
    });
    expect(plan.startsAt).toBe(60 * MIN);
    expect(plan.finishAt).toBe(80 * MIN);
  });

  it('says which users cannot be placed when a window is too short for a deploy', () => {
    const plan = planRollout({
      users: users(3),
      soakMs: 0,
      schedule: { campaign: { timezone: 'UTC', windows: [daily(60, 65)] }, sites: {} },
      perUserMs: 10 * MIN,
      concurrency: 1,
      now: 0,
      horizonMs: 10 * 86_400_000,
    });
    expect(plan.finishAt).toBeUndefined();
    expect(plan.unplaced).toBe(3);
    expect(formatPlanText(plan)).toContain(
      'estimated finish: none — 3 users cannot be deployed within the planning horizon',
    );
  });

  it('prints the waves with their users per site and the finish in the campaign zone', () => {
    const plan = planRollout({
      users: [...users(5, 'paris'), ...users(2, 'newyork')],
      waves: { canary: { count: 2 }, order: 'csv', seed: 's' },
      soakMs: 0,
      schedule: {
        campaign: { timezone: 'Europe/Paris', windows: [daily(22 * 60, 6 * 60)] },
        sites: { newyork: { timezone: 'America/New_York', windows: [daily(22 * 60, 6 * 60)] } },
      },
      perUserMs: 60_000,
      concurrency: 5,
      now: at('2026-12-08T12:00:00Z'),
    });
    const text = formatPlanText(plan);
    expect(text).toContain('plan: 7 users · 2 sites · 2 waves · 5 deploys at once · 60 s per user');
    expect(text).toContain('next openings: Tue 2026-12-08 22:00 → Wed 12-09 06:00');
    expect(text).toMatch(/wave 1 \(canary\) +2 users {2}Tue 2026-12-08 22:00 → 22:01 Europe\/Paris/);
    expect(text).toContain('paris          3  paris3, paris4, paris5');
    expect(text).toContain('estimated finish: Wed 2026-12-09 04:01 Europe/Paris (Wed 2026-12-09 03:01 UTC)');
  });
});
