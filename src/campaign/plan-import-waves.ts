import type { CampaignFile } from '../config/campaign-schema.js';
import { toWavePlanSettings } from '../config/campaign-settings.js';
import { assignWaves, type WaveMember } from '../rollout/waves.js';

/** The waves of one import: how many, and each valid user's (the store keeps it with the user, counters per wave). */
export interface ImportWaves {
  readonly count: number;
  readonly sizes: readonly number[];
  waveOf(username: string): number | undefined;
}

/**
 * Assigns every valid user of the CSV to a wave with the campaign's wave planner (canary, sizes, order csv, site
 * or seeded random). Undefined when the campaign file has no `waves:`.
 */
export function planImportWaves(
  settings: CampaignFile,
  campaign: string,
  members: readonly WaveMember[] | undefined,
): ImportWaves | undefined {
  const plan = toWavePlanSettings(settings, campaign);
  if (!plan || !members || members.length === 0) return undefined;
  const assignment = assignWaves(members, plan);
  const byName = new Map<string, number>();
  members.forEach((member, index) => {
    byName.set(member.username.normalize('NFC').toLowerCase(), assignment.waveOf[index] as number);
  });
  return {
    count: assignment.sizes.length,
    sizes: assignment.sizes,
    waveOf: (username) => byName.get(username.normalize('NFC').toLowerCase()),
  };
}
