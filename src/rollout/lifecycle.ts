import { type CampaignState, USER_STATES, type UserState } from './states.js';

/**
 * THE lifecycle (pure): for users and for campaigns, what each intent does from each state. Every change of state
 * anywhere in the product names an intent; the store's Lua script enforces USER_TRANSITIONS (it is generated from
 * this table, see store/lua-scripts.ts) and campaign changes go through CAMPAIGN_TRANSITIONS. docs/architecture.md
 * shows both as tables; test/unit/lifecycle.test.ts walks every (state, intent) pair.
 */

export const USER_INTENTS = [
  'import',
  'reject-row',
  'generate-done',
  'generate-failed',
  'deploy-begin',
  'deploy-succeeded',
  'deploy-failed-transient',
  'deploy-failed-permanent',
  'rollback-begin',
  'rollback-succeeded',
  'rollback-failed-transient',
  'rollback-failed-permanent',
  'release',
  'wait-for-window',
  'cancel',
  'retry',
  'rollback',
  'remove',
] as const;
export type UserIntent = (typeof USER_INTENTS)[number];
/** Intents that move a user to a state (`remove` deletes the record instead: RecordStore.removeUsers). */
export type TransitionIntent = Exclude<UserIntent, 'remove'>;

/** `absent`: no record yet. `removed`: the record is deleted. */
export type UserFrom = UserState | 'absent';
export type UserTo = UserState | 'removed';

export interface UserMove {
  readonly to: UserTo;
  /** The user gets a new run: jobs of older runs become stale (their outcomes are still recorded, as stale). */
  readonly newRun: boolean;
}

const same = (to: UserTo): UserMove => ({ to, newRun: false });
const fresh = (to: UserTo): UserMove => ({ to, newRun: true });

const ALL: readonly UserState[] = USER_STATES;
const NOT_ON_HOST = ALL.filter((state) => state !== 'deploying' && state !== 'rolling-back');

function each(states: readonly UserFrom[], move: UserMove): Partial<Record<UserFrom, UserMove>> {
  return Object.fromEntries(states.map((state) => [state, move]));
}

/** (intent, state) → move. A pair that is absent is refused (see explainUserRefusal). */
export const USER_TRANSITIONS: Readonly<Record<UserIntent, Partial<Record<UserFrom, UserMove>>>> = {
  // A new or edited CSV row (unchanged rows are not an intent: nothing happens to them).
  import: each(['absent', ...ALL], fresh('queued')),
  // A row that became invalid: users not yet resting in a final state stop; final ones keep their state.
  'reject-row': {
    ...each(['absent', 'queued', 'generated', 'retrying', 'deploying'], fresh('skipped')),
    skipped: same('skipped'),
  },
  'generate-done': { queued: same('generated') },
  'generate-failed': { queued: same('failed') },
  // `deploying` again: an agent died mid-attempt and BullMQ handed the job to another.
  'deploy-begin': each(['generated', 'retrying', 'deploying'], same('deploying')),
  'deploy-succeeded': { deploying: same('applied') },
  'deploy-failed-transient': { deploying: same('retrying') },
  'deploy-failed-permanent': { deploying: same('failed') },
  'rollback-begin': each(['rollback-queued', 'rolling-back'], same('rolling-back')),
  'rollback-succeeded': { 'rolling-back': same('rolled-back') },
  'rollback-failed-transient': { 'rolling-back': same('rollback-queued') },
  'rollback-failed-permanent': { 'rolling-back': same('rollback-failed') },
  // The agent stops before the step reached the host: hand the user back, attempt not counted.
  release: { deploying: same('retrying'), 'rolling-back': same('rollback-queued') },
  // The deploy gate parks a user (window closed, wave not open): it keeps its state, with the reason.
  'wait-for-window': {
    queued: same('queued'),
    generated: same('generated'),
    retrying: same('retrying'),
    'rollback-queued': same('rollback-queued'),
  },
  // Cancel starts no new step; a step already on the host finishes and records its real outcome.
  cancel: {
    ...each(['queued', 'generated', 'retrying', 'rollback-queued'], same('cancelled')),
    cancelled: same('cancelled'),
  },
  // Retry repeats the step that failed: a failed rollback is retried as a rollback.
  retry: {
    ...each(['generated', 'retrying', 'applied', 'failed', 'cancelled', 'rolled-back'], fresh('queued')),
    queued: same('queued'),
    'rollback-queued': fresh('rollback-queued'),
    'rollback-failed': fresh('rollback-queued'),
  },
  rollback: each(['applied', 'failed', 'rollback-failed', 'retrying'], fresh('rollback-queued')),
  remove: each(NOT_ON_HOST, same('removed')),
};

/** Why a refused (state, intent) pair is refused, in words an admin understands. */
export function explainUserRefusal(state: UserFrom, intent: UserIntent): string {
  if (state === 'absent') return 'no such user in this campaign';
  if (state === 'deploying' || state === 'rolling-back') {
    return `a ${state === 'deploying' ? 'deploy' : 'rollback'} is running on the workstation: its outcome will be recorded first`;
  }
  if (state === 'skipped' && (intent === 'retry' || intent === 'rollback')) {
    return 'its CSV row is invalid: fix the row and import again';
  }
  if (intent === 'rollback') {
    if (state === 'rolled-back') return 'already rolled back';
    return `nothing applied to roll back (user is ${state})`;
  }
  if (intent === 'reject-row') return `keeps its state (${state}): its row is now invalid`;
  if (intent === 'cancel') return `already ${state}`;
  return `a user that is ${state} cannot take ${intent}`;
}

export type UserDecision = ({ readonly ok: true } & UserMove) | { readonly ok: false; readonly reason: string };

export function decideUserTransition(state: UserFrom, intent: UserIntent): UserDecision {
  const move = USER_TRANSITIONS[intent][state];
  return move ? { ok: true, ...move } : { ok: false, reason: explainUserRefusal(state, intent) };
}

// --- campaigns ---------------------------------------------------------------------------------------------------

export const CAMPAIGN_INTENTS = ['start', 'pause', 'resume', 'cancel', 'halt', 'reopen', 'finish'] as const;
export type CampaignIntent = (typeof CAMPAIGN_INTENTS)[number];

/** (intent, state) → next state. `finish` is taken by the store alone, when nothing is left in flight. */
export const CAMPAIGN_TRANSITIONS: Readonly<Record<CampaignIntent, Partial<Record<CampaignState, CampaignState>>>> = {
  start: { draft: 'running', running: 'running', paused: 'running', halted: 'running', done: 'running' },
  pause: { running: 'paused', paused: 'paused' },
  resume: { paused: 'running', halted: 'running', running: 'running' },
  cancel: {
    draft: 'cancelled',
    running: 'cancelled',
    paused: 'cancelled',
    halted: 'cancelled',
    done: 'cancelled',
    cancelled: 'cancelled',
  },
  halt: { running: 'halted', halted: 'halted' },
  // New work for a campaign (retry, rollback, re-import): a finished one runs again; draft and paused stay as they are.
  reopen: {
    done: 'running',
    cancelled: 'running',
    halted: 'running',
    running: 'running',
    paused: 'paused',
    draft: 'draft',
  },
  finish: { running: 'done' },
};

export function explainCampaignRefusal(state: CampaignState, intent: CampaignIntent): string {
  if (state === 'cancelled' && intent === 'start') return 'it was cancelled: retry or roll back users to reopen it';
  if (intent === 'pause') return `only a running campaign can be paused (it is ${state})`;
  if (intent === 'resume') return `only a paused or halted campaign can be resumed (it is ${state})`;
  if (intent === 'halt') return `only a running campaign can be halted (it is ${state})`;
  return `a campaign that is ${state} cannot take ${intent}`;
}

export type CampaignDecision =
  | { readonly ok: true; readonly to: CampaignState }
  | { readonly ok: false; readonly reason: string };

export function decideCampaignTransition(state: CampaignState, intent: CampaignIntent): CampaignDecision {
  const to = CAMPAIGN_TRANSITIONS[intent][state];
  return to ? { ok: true, to } : { ok: false, reason: explainCampaignRefusal(state, intent) };
}
