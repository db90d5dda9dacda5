/** The state machines of users and campaigns (pure). The store enforces them atomically. */

export const USER_STATES = [
  'queued',
  'generated',
  'deploying',
  'retrying',
  'applied',
  'failed',
  'skipped',
  'cancelled',
  'rolled-back',
] as const;
export type UserState = (typeof USER_STATES)[number];

/** States a user rests in until an admin acts (retry, re-import, rollback). */
export const FINAL_USER_STATES: readonly UserState[] = ['applied', 'failed', 'skipped', 'cancelled', 'rolled-back'];
/** States that still have work queued or running. A campaign with none of these is done. */
export const IN_FLIGHT_USER_STATES: readonly UserState[] = ['queued', 'generated', 'deploying', 'retrying'];

export function isFinalUserState(state: UserState): boolean {
  return FINAL_USER_STATES.includes(state);
}

export const CAMPAIGN_STATES = ['draft', 'running', 'paused', 'halted', 'done', 'cancelled'] as const;
export type CampaignState = (typeof CAMPAIGN_STATES)[number];

/** Allowed campaign transitions: from → to. `done` reopens to `running` when failed users are retried. */
export const CAMPAIGN_TRANSITIONS: Readonly<Record<CampaignState, readonly CampaignState[]>> = {
  draft: ['running', 'cancelled'],
  running: ['paused', 'halted', 'done', 'cancelled'],
  paused: ['running', 'cancelled'],
  halted: ['running', 'cancelled'],
  done: ['running', 'cancelled'],
  cancelled: ['running'],
};

export function canTransitionCampaign(from: CampaignState, to: CampaignState): boolean {
  return CAMPAIGN_TRANSITIONS[from].includes(to);
}
