import { ERROR_CODES, FleetError, isErrorCode } from '../errors/index.js';
import type { PipelineQueues, QueuedUser } from '../queue/types.js';
import type { UserIntent } from '../rollout/lifecycle.js';
import { isUserState, type Stage, type UserState } from '../rollout/states.js';
import type { RecordStore, TransitionResult, UserFilter, UserRecord } from '../store/types.js';
import { reconcileCampaign } from './reconcile-campaign.js';
import { requireCampaign } from './start-campaign.js';

/** Which users an admin action selects (CLI flags, dashboard filters): all optional, combined with AND. */
export interface UserSelection {
  readonly user?: string;
  readonly state?: string;
  /** Matches the stored code or its cause (FR_ERR_ATTEMPTS_EXHAUSTED wraps the last attempt's code). */
  readonly code?: string;
  readonly site?: string;
  /** The step of the user's current or last attempt (apply, rollback). */
  readonly stage?: Stage;
  readonly prefix?: string;
  readonly search?: string;
}

export interface ActionResult {
  /** Users the intent moved (and whose work was handed to the queues). */
  readonly moved: number;
  /** Users the table refused, by reason (e.g. "its CSV row is invalid: fix the row and import again": 3). */
  readonly refused: Readonly<Record<string, number>>;
  readonly campaignState: string;
}

const BATCH = 1_000;

/** Checks a selection before anything moves: an unknown state or code is an error, never an empty match. */
export function checkSelection(selection: UserSelection): void {
  if (selection.state !== undefined && !isUserState(selection.state)) {
    throw new FleetError('FR_ERR_USAGE', `unknown state ${JSON.stringify(selection.state)}`);
  }
  if (selection.code !== undefined && !isErrorCode(selection.code)) {
    throw new FleetError(
      'FR_ERR_USAGE',
      `unknown error code ${JSON.stringify(selection.code)}; known codes: ${Object.keys(ERROR_CODES).join(', ')}`,
    );
  }
}

/**
 * One admin intent (retry, rollback) over the selected users, a page at a time (never all in memory): each user
 * moves or is refused by the transition table with its reason; moved users get a new run and their job; a campaign
 * that had finished reopens (after the moves: reopened with nothing in flight it would end `done` at once).
 */
export async function actOnUsers(
  store: RecordStore,
  queues: PipelineQueues,
  name: string,
  intent: Extract<UserIntent, 'retry' | 'rollback'>,
  selection: UserSelection,
  defaultStates: readonly UserState[],
  now: number,
): Promise<ActionResult> {
  checkSelection(selection);
  await requireCampaign(store, name);
  if (selection.user !== undefined && !(await store.findUserByName(name, selection.user))) {
    throw new FleetError('FR_ERR_USER_NOT_FOUND', `no user ${selection.user} in campaign ${name}`, { campaign: name });
  }
  const states: ReadonlyArray<UserState | undefined> =
    selection.state !== undefined
      ? [selection.state as UserState]
      : selection.user !== undefined || selection.code !== undefined
        ? [undefined]
        : defaultStates;
  const work: QueuedUser[] = [];
  const rollbacks: QueuedUser[] = [];
  const refused: Record<string, number> = {};
  for (const state of states) {
    const filter = toFilter(selection, state);
    for await (const users of store.scanUsers(name, filter, BATCH)) {
      // Already queued users keep their run (never started): only their job is handed over again.
      const moving = users.filter((user) => !(intent === 'retry' && user.state === 'queued'));
      for (const user of users) if (user.state === 'queued' && intent === 'retry') work.push(toQueued(user));
      const results = await store.transitionMany(
        name,
        moving.map((user) => ({ userKey: user.userKey, transition: { intent } })),
        now,
      );
      results.forEach((result, index) => {
        const user = moving[index] as UserRecord;
        const explained = result.result === 'refused' && explainSkipped(user, selection.user !== undefined);
        collect(
          explained ? { ...result, result: 'refused', reason: explained } : result,
          user,
          work,
          rollbacks,
          refused,
        );
      });
    }
  }
  const moved = work.length + rollbacks.length;
  let campaign = await requireCampaign(store, name);
  if (moved > 0) {
    campaign = (await store.applyCampaignIntent(name, 'reopen', `${intent} of ${moved} user(s)`, now)).campaign;
    await reconcileCampaign(store, queues, campaign);
    for (let i = 0; i < work.length; i += BATCH) await queues.enqueueGenerate(name, work.slice(i, i + BATCH));
    for (let i = 0; i < rollbacks.length; i += BATCH) {
      await queues.enqueueDeploy(name, rollbacks.slice(i, i + BATCH), 'rollback');
    }
    campaign = await requireCampaign(store, name);
  }
  return { moved, refused, campaignState: campaign.state };
}

/**
 * A skipped user was never queued because of its row or the campaign's policy (Office 2016+, say): the refusal
 * says which, from its recorded error; one user (--user) gets the whole message, a batch the code (grouped).
 */
function explainSkipped(user: UserRecord, single: boolean): string | undefined {
  if (user.state !== 'skipped' || !user.lastError) return undefined;
  const { code, message } = user.lastError;
  const why = single ? `${code}: ${message}` : code;
  return `it was skipped at import (${why}): fix its row or the campaign file and import again`;
}

function toFilter(selection: UserSelection, state: UserState | undefined): UserFilter {
  return {
    ...(state !== undefined && { state }),
    ...(selection.user !== undefined && { user: selection.user }),
    ...(selection.code !== undefined && { code: selection.code }),
    ...(selection.site !== undefined && { site: selection.site }),
    ...(selection.stage !== undefined && { stage: selection.stage }),
    ...(selection.prefix !== undefined && { prefix: selection.prefix }),
    ...(selection.search !== undefined && { search: selection.search }),
  };
}

function toQueued(user: { readonly userKey: string; readonly run: number }): QueuedUser {
  return { userKey: user.userKey, run: user.run };
}

function collect(
  result: TransitionResult,
  user: UserRecord,
  work: QueuedUser[],
  rollbacks: QueuedUser[],
  refused: Record<string, number>,
): void {
  if (result.result === 'refused') {
    refused[result.reason] = (refused[result.reason] ?? 0) + 1;
    return;
  }
  if (result.result !== 'moved') return;
  const queued = { userKey: user.userKey, run: result.run };
  if (result.state === 'rollback-queued') rollbacks.push(queued);
  else work.push(queued);
}

/** `retry`: failed users by default (a failed rollback is retried as a rollback). */
export function retryUsers(
  store: RecordStore,
  queues: PipelineQueues,
  name: string,
  selection: UserSelection,
  now: number,
): Promise<ActionResult> {
  return actOnUsers(store, queues, name, 'retry', selection, ['failed', 'rollback-failed'], now);
}

/** `rollback`: applied users by default; the same selection flags as retry. */
export function rollbackUsers(
  store: RecordStore,
  queues: PipelineQueues,
  name: string,
  selection: UserSelection,
  now: number,
): Promise<ActionResult> {
  return actOnUsers(store, queues, name, 'rollback', selection, ['applied'], now);
}
