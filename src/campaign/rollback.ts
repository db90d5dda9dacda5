import { FleetError } from '../errors/index.js';
import type { PipelineQueues, QueuedUser } from '../queue/types.js';
import type { UserState } from '../rollout/states.js';
import type { RecordStore, UserFilter, UserRecord } from '../store/types.js';
import { requireCampaign } from './start-campaign.js';

export interface RollbackFilter {
  /** One user by name (any rollback-able state). */
  readonly user?: string;
  /** Default `applied` when no user is named. */
  readonly state?: UserState;
}

export interface RollbackResult {
  /** Users handed to the deploy stage in `rollback` mode. */
  readonly enqueued: number;
  readonly campaignState: string;
}

/** Users whose workstation may hold our change (a failed user may have been applied before a later failure). */
export const ROLLBACK_STATES: readonly UserState[] = ['applied', 'failed'];
const REOPENED_STATES = ['done', 'halted', 'cancelled'];
const BATCH = 1_000;

/**
 * `rollback NAME [--user U | --state S]`: each selected user gets a new run (so an earlier rollback job id can never
 * swallow this one), is marked `retrying` (in flight: the campaign cannot end `done` before the rollbacks ran), and
 * one `rollback` deploy job is queued; the deploy stage runs the agent's rollback and records `rolled-back`.
 */
export async function rollbackUsers(
  store: RecordStore,
  queues: PipelineQueues,
  name: string,
  filter: RollbackFilter,
  now: number,
): Promise<RollbackResult> {
  const campaign = await requireCampaign(store, name);
  const state = filter.state ?? (filter.user === undefined ? 'applied' : undefined);
  if (state !== undefined && !ROLLBACK_STATES.includes(state)) {
    throw new FleetError(
      'FR_ERR_USAGE',
      `--state ${state}: only ${ROLLBACK_STATES.join(' or ')} users can be rolled back`,
    );
  }
  if (filter.user !== undefined) {
    const user = await store.findUserByName(name, filter.user);
    if (!user) throw new FleetError('FR_ERR_USER_NOT_FOUND', undefined, { campaign: name });
    if (!ROLLBACK_STATES.includes(user.state) || (state !== undefined && user.state !== state)) {
      throw new FleetError('FR_ERR_CAMPAIGN_STATE', `user is ${user.state}: nothing to roll back`, { campaign: name });
    }
  }
  const query: UserFilter = {
    ...(state !== undefined && { state }),
    ...(filter.user !== undefined && { user: filter.user }),
  };
  const marked: QueuedUser[] = [];
  for await (const users of store.scanUsers(name, query, BATCH)) {
    const picked = await Promise.all(users.map((u) => markForRollback(store, name, u, now)));
    for (const p of picked) if (p) marked.push(p);
  }
  if (marked.length > 0 && REOPENED_STATES.includes(campaign.state)) {
    await store.setCampaignState(name, 'running', `rollback of ${marked.length} user(s)`, now);
    await queues.resume(name);
  }
  for (let i = 0; i < marked.length; i += BATCH) {
    await queues.enqueueDeploy(name, marked.slice(i, i + BATCH), 'rollback');
  }
  return { enqueued: marked.length, campaignState: (await requireCampaign(store, name)).state };
}

async function markForRollback(store: RecordStore, name: string, user: UserRecord, now: number) {
  if (!ROLLBACK_STATES.includes(user.state)) return undefined;
  const run = await store.requeue(name, user.userKey, now);
  if (run === undefined) return undefined;
  const ok = await store.transition(
    name,
    user.userKey,
    { run, from: ['queued'], to: 'retrying', patch: { nextAttemptAt: now } },
    now,
  );
  return ok ? { userKey: user.userKey, run } : undefined;
}
