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
