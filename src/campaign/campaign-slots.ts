import { toDeployCaps } from '../config/caps-settings.js';
import { siteCap, UNCAPPED } from '../rollout/deploy-caps.js';
import type { DeploySlots } from '../store/deploy-slots.js';
import type { RecordStore } from '../store/types.js';
import { requireCampaign } from './start-campaign.js';

/** Deploys on workstations now (every agent, every campaign sharing the Redis) against this campaign's caps. */
export interface SlotUse {
  readonly inFlight: number;
  /** Absent: counted, not limited. */
  readonly cap?: number;
}

export interface SlotsView {
  readonly campaign: string;
  /** Every site together; absent without a fleet cap (max_in_flight), which is the only case it is counted. */
  readonly global?: SlotUse;
  /** The sites with a cap of their own and every site with a deploy in flight, by name. */
  readonly sites: ReadonlyArray<SlotUse & { readonly site: string }>;
  readonly perHost: number;
  readonly connectionsPerSecond?: number;
  readonly siteConnectionsPerSecond?: number;
  readonly leaseMs: number;
}

/** The campaign's caps and what is in flight against them; undefined when the campaign has no `caps:`. */
export async function campaignSlots(
  store: RecordStore,
  slots: DeploySlots,
  name: string,
): Promise<SlotsView | undefined> {
  const caps = toDeployCaps((await requireCampaign(store, name)).settings.caps);
  if (!caps) return undefined;
  const counts = await slots.counts(Object.keys(caps.sites));
  const use = (inFlight: number, cap: number | undefined): SlotUse =>
    cap === undefined || cap === UNCAPPED ? { inFlight } : { inFlight, cap };
  return {
    campaign: name,
    ...(caps.maxInFlight !== undefined && { global: use(counts.global, caps.maxInFlight) }),
    sites: Object.entries(counts.sites).map(([site, inFlight]) => ({ site, ...use(inFlight, siteCap(caps, site)) })),
    perHost: caps.perHost,
    ...(caps.connectionsPerSecond !== undefined && { connectionsPerSecond: caps.connectionsPerSecond }),
    ...(caps.siteConnectionsPerSecond !== undefined && { siteConnectionsPerSecond: caps.siteConnectionsPerSecond }),
    leaseMs: caps.leaseMs,
  };
}
