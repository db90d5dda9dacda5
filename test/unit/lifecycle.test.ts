import { describe, expect, it } from 'vitest';
import {
  CAMPAIGN_INTENTS,
  CAMPAIGN_TRANSITIONS,
  decideCampaignTransition,
  decideUserTransition,
  USER_INTENTS,
  USER_TRANSITIONS,
} from '../../src/rollout/lifecycle.js';
import { CAMPAIGN_STATES, FINAL_USER_STATES, ON_HOST_USER_STATES, USER_STATES } from '../../src/rollout/states.js';

describe('the user transition table', () => {
  it('answers every (state, intent) pair: a move, or a refusal with a reason an admin can read', () => {
    for (const state of ['absent', ...USER_STATES] as const) {
      for (const intent of USER_INTENTS) {
        const decision = decideUserTransition(state, intent);
        if (decision.ok) expect([...USER_STATES, 'removed']).toContain(decision.to);
        else expect(decision.reason.length, `${state} × ${intent}`).toBeGreaterThan(8);
      }
    }
  });

  it('never cancels, removes or re-queues a user whose step is on the workstation (its outcome comes first)', () => {
    for (const state of ON_HOST_USER_STATES) {
      for (const intent of ['cancel', 'remove', 'retry', 'rollback'] as const) {
        const decision = decideUserTransition(state, intent);
        expect(decision.ok, `${state} × ${intent}`).toBe(false);
        if (!decision.ok) expect(decision.reason).toMatch(/running on the workstation/);
      }
    }
  });

  it('retries a failed rollback as a rollback, and a failed apply as an apply', () => {
    expect(decideUserTransition('rollback-failed', 'retry')).toEqual({ ok: true, to: 'rollback-queued', newRun: true });
    expect(decideUserTransition('failed', 'retry')).toEqual({ ok: true, to: 'queued', newRun: true });
  });

  it('keeps a rollback out of the retry state: waiting rollbacks are rollback-queued', () => {
    expect(decideUserTransition('applied', 'rollback')).toEqual({ ok: true, to: 'rollback-queued', newRun: true });
    expect(decideUserTransition('rolling-back', 'rollback-failed-transient')).toMatchObject({ to: 'rollback-queued' });
    for (const moves of Object.values(USER_TRANSITIONS)) {
      for (const [from, move] of Object.entries(moves)) {
        if (from === 'rolling-back' || from === 'rollback-queued') expect(move.to).not.toBe('retrying');
      }
    }
  });

  it('says why an invalid row cannot be retried, and why an applied user is not cancelled', () => {
    const skipped = decideUserTransition('skipped', 'retry');
    expect(skipped.ok === false && skipped.reason).toBe('its CSV row is invalid: fix the row and import again');
    const applied = decideUserTransition('applied', 'cancel');
    expect(applied.ok === false && applied.reason).toBe('already applied');
  });

  it('reaches a final state only through a step outcome, a cancel, an invalid row or a render failure', () => {
    const finalTargets = new Set<string>();
    for (const [intent, moves] of Object.entries(USER_TRANSITIONS)) {
      for (const move of Object.values(moves))
        if (FINAL_USER_STATES.includes(move.to as never)) finalTargets.add(intent);
    }
    expect([...finalTargets].sort()).toEqual(
      [
        'cancel',
        'deploy-failed-permanent',
        'deploy-succeeded',
        'generate-failed',
        'reject-row',
        'rollback-failed-permanent',
        'rollback-succeeded',
      ].sort(),
    );
  });
});

describe('the campaign transition table', () => {
  it('answers every (state, intent) pair', () => {
    for (const state of CAMPAIGN_STATES) {
      for (const intent of CAMPAIGN_INTENTS) {
        const decision = decideCampaignTransition(state, intent);
        if (decision.ok) expect(CAMPAIGN_STATES).toContain(decision.to);
        else expect(decision.reason.length).toBeGreaterThan(8);
      }
    }
  });

  it('refuses to start a cancelled campaign instead of turning it done', () => {
    const decision = decideCampaignTransition('cancelled', 'start');
    expect(decision.ok).toBe(false);
    expect(decision.ok === false && decision.reason).toMatch(/retry or roll back users to reopen it/);
  });

  it('lets only the store finish a campaign, and only a running one', () => {
    expect(CAMPAIGN_TRANSITIONS.finish).toEqual({ running: 'done' });
  });
});
