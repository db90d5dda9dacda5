import type { PipelineQueues } from '../queue/types.js';
import { type CampaignState, FINAL_USER_STATES, IN_FLIGHT_USER_STATES, type UserState } from '../rollout/states.js';
import type { CampaignRecord, RecordStore } from '../store/types.js';
import { requireCampaign } from './start-campaign.js';

export interface CampaignSummary {
  readonly campaign: CampaignRecord;
  readonly counts: Record<UserState, number>;
  readonly total: number;
  /** Users resting in a final state (applied, failed, skipped, cancelled, rolled-back). */
  readonly finished: number;
  readonly inFlight: number;
}

export interface CampaignStatus extends CampaignSummary {
  /** An importer holds the campaign's import lease right now. */
  readonly importAlive: boolean;
  /** BullMQ job counts of both queues (waiting, active, delayed, failed, …). */
  readonly jobs: Record<string, number>;
  /** Users reaching a final state per minute, averaged over the window below. */
  readonly throughputPerMinute: number;
  readonly windowMinutes: number;
  /** Seconds until nothing is in flight at the current pace; absent when unknown or not running. */
  readonly etaSeconds?: number;
  readonly perMinute: ReadonlyArray<readonly [number, number]>;
}

const WINDOW_MINUTES = 10;
const WINDOW_MS = WINDOW_MINUTES * 60_000;

export async function summarizeCampaign(store: RecordStore, campaign: CampaignRecord): Promise<CampaignSummary> {
  const counts = await store.countByState(campaign.name);
  const sum = (states: readonly UserState[]): number => states.reduce((total, state) => total + counts[state], 0);
  const finished = sum(FINAL_USER_STATES);
  const inFlight = sum(IN_FLIGHT_USER_STATES);
  return { campaign, counts, total: finished + inFlight, finished, inFlight };
}

export async function listCampaigns(store: RecordStore): Promise<CampaignSummary[]> {
  const campaigns = await store.listCampaigns();
  return Promise.all(campaigns.map((campaign) => summarizeCampaign(store, campaign)));
}

/**
 * Counts per state from the counters (O(1)), queue depths, and the pace over the last 10 minutes of activity (a
 * campaign started 3 minutes ago is averaged over 3 minutes; a finished one up to its end), whence the ETA.
 */
export async function campaignStatus(
  store: RecordStore,
  queues: PipelineQueues,
  name: string,
  now: number,
): Promise<CampaignStatus> {
  const campaign = await requireCampaign(store, name);
  const summary = await summarizeCampaign(store, campaign);
  // Pace over the last minutes of activity: up to now while running, up to the end once finished.
  const end = campaign.finishedAt ?? now;
  const start = Math.min(end, Math.max(campaign.startedAt ?? end - WINDOW_MS, end - WINDOW_MS));
  const perMinute = await store.completionsPerMinute(name, WINDOW_MINUTES + 1, end);
  const recent = perMinute.filter(([minute]) => minute + 60_000 > start).reduce((total, [, count]) => total + count, 0);
  const windowMinutes = Math.max((end - start) / 60_000, 1 / 60);
  const throughputPerMinute = recent / windowMinutes;
  const [jobs, importAlive] = await Promise.all([queues.jobCounts(name), store.isImportAlive(name)]);
  const etaSeconds = estimateEtaSeconds(campaign.state, throughputPerMinute, summary.inFlight);
  return {
    ...summary,
    importAlive,
    jobs,
    throughputPerMinute,
    windowMinutes: Math.round(windowMinutes * 10) / 10,
    perMinute,
    ...(etaSeconds !== undefined && { etaSeconds }),
  };
}

/** Seconds until `pending` users are done at the current pace; unknown unless running with a measured pace. */
export function estimateEtaSeconds(state: CampaignState, perMinute: number, pending: number): number | undefined {
  return state === 'running' && perMinute > 0 && pending > 0 ? Math.round((pending / perMinute) * 60) : undefined;
}
