import type { CampaignFile } from '../config/campaign-schema.js';
import type { PlanUser } from '../rollout/plan-rollout.js';
import type { RecordStore } from '../store/types.js';
import { requireCampaign } from './start-campaign.js';

/** What `plan <campaign>` plans: an imported campaign's settings and its users in CSV order (skipped rows left out). */
export interface CampaignPlanInput {
  readonly settings: CampaignFile;
  readonly users: readonly PlanUser[];
  /** Rows the import rejected (not planned). */
  readonly skipped: number;
}

export async function campaignPlanInput(store: RecordStore, name: string): Promise<CampaignPlanInput> {
  const campaign = await requireCampaign(store, name);
  const rows: Array<PlanUser & { readonly line: number }> = [];
  let skipped = 0;
  for await (const users of store.scanUsers(name, {})) {
    for (const user of users) {
      if (user.state === 'skipped') skipped += 1;
      else rows.push({ username: user.username, line: user.line, ...(user.site !== undefined && { site: user.site }) });
    }
  }
  // CSV order: the wave planner's `csv` and `site` orders follow it, as they did at import.
  rows.sort((a, b) => a.line - b.line);
  return {
    settings: campaign.settings,
    users: rows.map(({ username, site }) => (site === undefined ? { username } : { username, site })),
    skipped,
  };
}
