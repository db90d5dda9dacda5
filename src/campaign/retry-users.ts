import type { PipelineQueues } from '../queue/types.js';
import type { UserState } from '../rollout/states.js';
import type { RecordStore, UserFilter } from '../store/types.js';
import { requireCampaign } from './start-campaign.js';

export interface RetryFilter {
  /** Default `failed`; with `user` and no state, that user in any state but `skipped`. */
  readonly state?: UserState;
  readonly user?: string;
  readonly code?: string;
  readonly site?: string;
}

export interface RetryResult {
  /** Users put back in the queue. */
  readonly requeued: number;
  /** The campaign state after the retry (a done/halted/cancelled campaign reopens to running). */
  readonly campaignState: string;
}

const BATCH = 1_000;
const REOPENED_STATES = ['done', 'halted', 'cancelled'];

/**
 * Re-queues the matching users in batches (run + 1: older jobs become stale) and hands them to the generate stage
 * with the campaign's stored settings. Unlike Rundeck's "retry failed nodes", asking for `queued` users includes
 * users that never started: they are enqueued again as they are (deterministic job ids make that harmless).
 */
export async function retryUsers(
  store: RecordStore,
  queues: PipelineQueues,
  name: string,
  filter: RetryFilter,
  now: number,
): Promise<RetryResult> {
  const campaign = await requireCampaign(store, name);
  const state = filter.state ?? (filter.user === undefined ? 'failed' : undefined);
  const query: UserFilter = {
    ...(state !== undefined && { state }),
    ...(filter.user !== undefined && { user: filter.user }),
    ...(filter.code !== undefined && { code: filter.code }),
    ...(filter.site !== undefined && { site: filter.site }),
  };
  const enqueueNow = campaign.state === 'running' || campaign.state === 'paused';
  let requeued = 0;
  for await (const users of store.scanUsers(name, query, BATCH)) {
    // Queued users keep their run (never started); the others get a new run, which leaves the scanned index.
    const runs = await Promise.all(
      users.map((user) => (user.state === 'queued' ? user.run : store.requeue(name, user.userKey, now))),
    );
    const work = users.flatMap((user, index) => {
      const run = runs[index];
      return run === undefined || user.state === 'skipped' ? [] : [{ userKey: user.userKey, run }];
    });
    requeued += work.length;
    if (enqueueNow && work.length > 0) await queues.enqueueGenerate(name, work);
  }
  if (requeued > 0 && REOPENED_STATES.includes(campaign.state)) {
    // Requeue first, reopen after: a campaign reopened with nothing in flight would end `done` at once.
    await store.setCampaignState(name, 'running', `retry of ${requeued} user(s)`, now);
    await queues.resume(name);
    for await (const users of store.scanUsers(name, { state: 'queued' }, BATCH)) {
      const work = users.map(({ userKey, run }) => ({ userKey, run }));
      if (work.length > 0) await queues.enqueueGenerate(name, work);
    }
  }
  return { requeued, campaignState: (await requireCampaign(store, name)).state };
}
