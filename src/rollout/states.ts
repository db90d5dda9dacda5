/**
 * The states of users and campaigns (pure). Where each may go next is decided by the transition tables of
 * lifecycle.ts, and nowhere else; the store's Lua script enforces those tables.
 */

export const USER_STATES = [
  'queued',
  'generated',
  'deploying',
  'retrying',
  'rollback-queued',
  'rolling-back',
  'applied',
  'failed',
  'rollback-failed',
  'skipped',
  'cancelled',
  'rolled-back',
] as const;
export type UserState = (typeof USER_STATES)[number];

/** States a user rests in until an admin acts (retry, re-import, rollback, remove). */
export const FINAL_USER_STATES: readonly UserState[] = [
  'applied',
  'failed',
  'rollback-failed',
  'skipped',
  'cancelled',
  'rolled-back',
];
/** States that still have work queued or running. A campaign with none of these (and a complete import) is done. */
export const IN_FLIGHT_USER_STATES: readonly UserState[] = [
  'queued',
  'generated',
  'deploying',
  'retrying',
  'rollback-queued',
  'rolling-back',
];
/** A step is running on the workstation right now: its outcome is on its way and must be recorded. */
export const ON_HOST_USER_STATES: readonly UserState[] = ['deploying', 'rolling-back'];
/** Final states that count as a failure (exit codes of `wait`/`run --follow`, dashboard). */
export const FAILED_USER_STATES: readonly UserState[] = ['failed', 'rollback-failed'];

export function isFinalUserState(state: UserState): boolean {
  return FINAL_USER_STATES.includes(state);
}

export function isUserState(value: string): value is UserState {
  return (USER_STATES as readonly string[]).includes(value);
}

/** Which step of the remote contract an attempt or an error belongs to. */
export type Stage = 'generate' | 'apply' | 'rollback';

export const CAMPAIGN_STATES = ['draft', 'running', 'paused', 'halted', 'done', 'cancelled'] as const;
export type CampaignState = (typeof CAMPAIGN_STATES)[number];

export function isCampaignState(value: string): value is CampaignState {
  return (CAMPAIGN_STATES as readonly string[]).includes(value);
}
