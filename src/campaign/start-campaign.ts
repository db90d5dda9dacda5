import { FleetError } from '../errors/index.js';
import type { DeployMode, PipelineQueues, QueuedUser } from '../queue/types.js';
import type { UserState } from '../rollout/states.js';
import type { CampaignRecord, RecordStore, UserFilter } from '../store/types.js';
import { reconcileCampaign } from './reconcile-campaign.js';

const BATCH = 1_000;

export interface StartResult {
  readonly campaign: CampaignRecord;
  /** Users handed to the queues (jobs that already exist with the same id are no-ops in BullMQ). */
  readonly enqueued: number;
}

/**
 * Intent `start`, the reconciler, then every user with work pending is handed to its queue. Job ids are
 * deterministic, so a second start (or a start after a crash half-way) adds nothing twice.
 */
export async function startCampaign(
  store: RecordStore,
  queues: PipelineQueues,
  name: string,
  now: number,
): Promise<StartResult> {
  const move = await store.applyCampaignIntent(name, 'start', 'started', now);
  await reconcileCampaign(store, queues, move.campaign);
  const enqueued = await enqueuePending(store, queues, name);
  // A campaign with nothing in flight was set `done` at once by the store; read the final word.
  return { campaign: await requireCampaign(store, name), enqueued };
}

/** Where each waiting state's work goes: the generate queue, or the deploy queue as an apply or a rollback. */
const PENDING: ReadonlyArray<readonly [UserState, 'generate' | DeployMode]> = [
  ['queued', 'generate'],
  ['generated', 'apply'],
  ['retrying', 'apply'],
  ['rollback-queued', 'rollback'],
];

/** Enqueues the job of every user waiting for one (after a start, a reopen, or a drain by cancel). */
export async function enqueuePending(store: RecordStore, queues: PipelineQueues, name: string): Promise<number> {
  let enqueued = 0;
  for (const [state, stage] of PENDING) enqueued += await enqueueMatching(store, queues, name, { state }, stage);
  return enqueued;
}

/** Enqueues one stage's job for every user matching the filter (scanned in batches). */
export async function enqueueMatching(
  store: RecordStore,
  queues: PipelineQueues,
  name: string,
  filter: UserFilter,
  stage: 'generate' | DeployMode = 'generate',
): Promise<number> {
  let enqueued = 0;
  for await (const users of store.scanUsers(name, filter, BATCH)) {
    const work: QueuedUser[] = users.map(({ userKey, run }) => ({ userKey, run }));
    if (work.length === 0) continue;
    enqueued +=
      stage === 'generate' ? await queues.enqueueGenerate(name, work) : await queues.enqueueDeploy(name, work, stage);
  }
  return enqueued;
}

export async function requireCampaign(store: RecordStore, name: string): Promise<CampaignRecord> {
  const campaign = await store.getCampaign(name);
  if (!campaign) throw new FleetError('FR_ERR_CAMPAIGN_NOT_FOUND', `no campaign named ${name}`, { campaign: name });
  return campaign;
}
