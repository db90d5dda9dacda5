import { describe, expect, it } from 'vitest';
import { DEFAULT_GATE_POLICY, decideDeploy } from '../../src/rollout/deploy-gate.js';

const now = 1_000_000;
const policy = DEFAULT_GATE_POLICY;

describe('decideDeploy', () => {
  it('runs a generated user of a running campaign', () => {
    expect(decideDeploy('apply', 3, { state: 'generated', run: 3 }, { state: 'running' }, policy, now)).toEqual({
      kind: 'run',
    });
  });

  it('drops a stale job and a user in a state its step cannot start from', () => {
    expect(decideDeploy('apply', 2, { state: 'generated', run: 3 }, { state: 'running' }, policy, now).kind).toBe(
      'drop',
    );
    expect(decideDeploy('apply', 3, { state: 'applied', run: 3 }, { state: 'running' }, policy, now).kind).toBe('drop');
    expect(decideDeploy('rollback', 3, { state: 'retrying', run: 3 }, { state: 'running' }, policy, now).kind).toBe(
      'drop',
    );
  });

  it('parks every waiting user of a paused or halted campaign, with the reason', () => {
    for (const state of ['paused', 'halted'] as const) {
      expect(decideDeploy('apply', 1, { state: 'generated', run: 1 }, { state }, policy, now)).toEqual({
        kind: 'park',
        until: now + policy.pausedRecheckMs,
        reason: `campaign ${state}`,
      });
    }
  });

  it('drops and cancels a waiting user of a cancelled campaign', () => {
    expect(decideDeploy('apply', 1, { state: 'retrying', run: 1 }, { state: 'cancelled' }, policy, now)).toMatchObject({
      kind: 'drop',
      cancel: true,
    });
  });

  it('runs a step that was on the host when its agent died, even in a cancelled or paused campaign', () => {
    for (const state of ['cancelled', 'paused'] as const) {
      expect(decideDeploy('apply', 1, { state: 'deploying', run: 1 }, { state }, policy, now).kind).toBe('run');
      expect(decideDeploy('rollback', 1, { state: 'rolling-back', run: 1 }, { state }, policy, now).kind).toBe('run');
    }
  });

  it('parks a retry until its time, within the slack', () => {
    const later = { state: 'retrying' as const, run: 1, nextAttemptAt: now + 60_000 };
    expect(decideDeploy('apply', 1, later, { state: 'running' }, policy, now)).toEqual({
      kind: 'park',
      until: now + 60_000,
      reason: 'waiting for its next attempt',
    });
    const almost = { ...later, nextAttemptAt: now + policy.earlySlackMs };
    expect(decideDeploy('apply', 1, almost, { state: 'running' }, policy, now).kind).toBe('run');
  });

  it('waits while a superseded run still has a step on the workstation, unless that step is long dead', () => {
    const user = { state: 'generated' as const, run: 2, onHost: { run: 1, since: now - 10_000 } };
    expect(decideDeploy('apply', 2, user, { state: 'running' }, policy, now)).toEqual({
      kind: 'park',
      until: now + policy.onHostRecheckMs,
      reason: 'a superseded step is still on the workstation',
    });
    const dead = { ...user, onHost: { run: 1, since: now - policy.onHostStaleMs - 1 } };
    expect(decideDeploy('apply', 2, dead, { state: 'running' }, policy, now).kind).toBe('run');
  });
});

describe('decideDeploy with waves and maintenance windows', () => {
  const at = (iso: string) => Date.parse(iso);
  const weeknights = { days: ['mon', 'tue', 'wed', 'thu', 'fri'] as const, startMinute: 22 * 60, endMinute: 6 * 60 };
  const schedule = {
    campaign: { timezone: 'Europe/Paris', windows: [weeknights] },
    sites: { newyork: { timezone: 'America/New_York', windows: [weeknights] } },
  };
  const running = { state: 'running' as const, schedule, minDeployMs: 5 * 60_000 };
  // Tuesday 8 December 2026, 23:30 in Paris, 17:30 in New York.
  const night = at('2026-12-08T22:30:00Z');

  it('runs inside the site window and parks outside it until the opening, with the reason', () => {
    expect(decideDeploy('apply', 1, { state: 'generated', run: 1, site: 'paris' }, running, policy, night)).toEqual({
      kind: 'run',
    });
    expect(decideDeploy('apply', 1, { state: 'generated', run: 1, site: 'newyork' }, running, policy, night)).toEqual({
      kind: 'park',
      until: at('2026-12-09T03:00:00Z'),
      reason: 'outside the maintenance window: opens Tue 2026-12-08 22:00 America/New_York',
    });
  });

  it('parks a deploy that would not fit in what is left of the window (measured estimate over the floor)', () => {
    const late = at('2026-12-09T04:50:00Z'); // 05:50 Paris
    const user = { state: 'generated' as const, run: 1, site: 'paris' };
    expect(decideDeploy('apply', 1, user, running, policy, late).kind).toBe('run');
    const slow = { ...policy, deployEstimateMs: 20 * 60_000 };
    expect(decideDeploy('apply', 1, user, running, slow, late)).toMatchObject({
      kind: 'park',
      until: at('2026-12-09T21:00:00Z'),
      reason: expect.stringContaining('too soon for a deploy of ~20 min'),
    });
  });

  it('lets a step already on the workstation finish whatever the window says', () => {
    const noon = at('2026-12-09T11:00:00Z');
    expect(decideDeploy('apply', 1, { state: 'deploying', run: 1 }, running, policy, noon).kind).toBe('run');
    expect(decideDeploy('apply', 1, { state: 'generated', run: 1 }, running, policy, noon).kind).toBe('park');
  });

  it('parks a retry until its next attempt, or until the window if the attempt falls outside it', () => {
    const inside = { state: 'retrying' as const, run: 1, nextAttemptAt: night + 10 * 60_000 };
    expect(decideDeploy('apply', 1, inside, running, policy, night)).toEqual({
      kind: 'park',
      until: night + 10 * 60_000,
      reason: 'waiting for its next attempt',
    });
    const outside = { ...inside, nextAttemptAt: at('2026-12-09T08:00:00Z') };
    expect(decideDeploy('apply', 1, outside, running, policy, night)).toMatchObject({
      kind: 'park',
      until: at('2026-12-09T21:00:00Z'),
    });
  });

  it('parks users of a wave not open yet, until the soak ends when the wave is next', () => {
    const waves = { ...running, waves: { open: 1 } };
    expect(decideDeploy('apply', 1, { state: 'generated', run: 1, wave: 1 }, waves, policy, night).kind).toBe('run');
    expect(decideDeploy('apply', 1, { state: 'generated', run: 1, wave: 2 }, waves, policy, night)).toEqual({
      kind: 'park',
      until: night + 60_000,
      reason: 'wave 2 is not open yet (wave 1 is running)',
    });
    const soaking = { ...running, waves: { open: 1, nextAt: night + 30 * 60_000 } };
    expect(decideDeploy('apply', 1, { state: 'generated', run: 1, wave: 2 }, soaking, policy, night)).toEqual({
      kind: 'park',
      until: night + 30 * 60_000,
      reason: 'wave 2 opens at Wed 2026-12-09 00:00 Europe/Paris (soak time after wave 1)',
    });
    expect(
      decideDeploy('apply', 1, { state: 'generated', run: 1, wave: 2 }, soaking, policy, night + 30 * 60_000).kind,
    ).toBe('run');
    expect(
      decideDeploy('apply', 1, { state: 'generated', run: 1, wave: 3 }, soaking, policy, night + 30 * 60_000).kind,
    ).toBe('park');
    // A rollback is an admin's explicit act: waves do not hold it back.
    expect(decideDeploy('rollback', 1, { state: 'rollback-queued', run: 1, wave: 3 }, waves, policy, night).kind).toBe(
      'run',
    );
  });
});
