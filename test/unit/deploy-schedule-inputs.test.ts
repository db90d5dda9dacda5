import { describe, expect, it } from 'vitest';
import { toGateWaves } from '../../src/jobs/deploy-schedule.js';
import { estimateDeployMs, percentile } from '../../src/rollout/deploy-estimate.js';
import { DEFAULT_GATE_POLICY, decideDeploy } from '../../src/rollout/deploy-gate.js';
import { findStartSlot, listOpenings, type SiteSchedule } from '../../src/rollout/schedule.js';

const HOUR = 3_600_000;

describe('the deploy estimate', () => {
  it('is the 90th percentile (nearest rank) of recent applies once five were measured, the configured one before', () => {
    expect(percentile([5, 1, 4, 2, 3], 90)).toBe(5);
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        90,
      ),
    ).toBe(90);
    expect(estimateDeployMs([1000, 2000, 3000, 4000], 60_000)).toBe(60_000);
    expect(estimateDeployMs([1000, 2000, 3000, 4000, 900_000], 60_000)).toBe(900_000);
    const many = [...Array.from({ length: 95 }, () => 20_000), ...Array.from({ length: 5 }, () => 600_000)];
    expect(estimateDeployMs(many, 60_000)).toBe(20_000); // a few stragglers do not move it
  });
});

describe('the waves as the gate sees them', () => {
  const now = 10 * HOUR;
  it('lets the open wave start once its soak time is over, and parks it until then with the time', () => {
    expect(toGateWaves({ count: 3, open: 2, opensAt: now - 1 }, now)).toEqual({ open: 2 });
    expect(toGateWaves({ count: 3, open: 2 }, now)).toEqual({ open: 2 });
    const soaking = toGateWaves({ count: 3, open: 2, opensAt: now + HOUR }, now);
    expect(soaking).toEqual({ open: 1, nextAt: now + HOUR });
    const user = { state: 'generated' as const, run: 1, wave: 2 };
    expect(decideDeploy('apply', 1, user, { state: 'running', waves: soaking }, DEFAULT_GATE_POLICY, now)).toEqual({
      kind: 'park',
      until: now + HOUR,
      reason: 'wave 2 opens at Thu 1970-01-01 11:00 UTC (soak time after wave 1)',
    });
    expect(
      decideDeploy('apply', 1, { ...user, wave: 1 }, { state: 'running', waves: soaking }, DEFAULT_GATE_POLICY, now),
    ).toEqual({ kind: 'run' });
  });
});

describe('findStartSlot stops merging once a deploy fits', () => {
  const sites: SiteSchedule[] = [
    {
      timezone: 'UTC',
      windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], startMinute: 0, endMinute: 1440 }],
    },
    {
      timezone: 'Europe/Paris',
      windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], startMinute: 1320, endMinute: 360 }],
    },
    {
      timezone: 'America/New_York',
      windows: [
        { days: ['sat', 'sun'], startMinute: 1080, endMinute: 1440 },
        { days: ['sun', 'mon'], startMinute: 0, endMinute: 360 },
      ],
    },
  ];
  it('answers the instant a brute-force look at every opening answers, all year', () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < 120; i += 1) {
      const from = start + ((i * 7919 * 60_000) % (365 * 24 * HOUR));
      const duration = ((i % 9) + 1) * 40 * 60_000;
      for (const site of sites) {
        const brute = listOpenings(site, from, from + 30 * 24 * HOUR).find(
          (o) => Math.max(from, o.start) + duration <= o.end,
        );
        const slot = findStartSlot(site, from, duration);
        expect(slot?.at).toBe(brute === undefined ? undefined : Math.max(from, brute.start));
      }
    }
  });
});
