import { toProfileOptions } from '../config/campaign-settings.js';
import { FleetError } from '../errors/index.js';
import { renderProfile } from '../profile/render-profile.js';
import type { RecordStore } from '../store/types.js';
import { getUserDetail } from './get-user-detail.js';

export interface UserProfile {
  readonly fileName: string;
  readonly bytes: Uint8Array;
  /** The PRF as text (what the file holds, decoded). */
  readonly text: string;
  readonly sha256: string;
  /** The checksum the generate step recorded for the current run, when it ran. */
  readonly recordedSha256?: string;
}

/**
 * One user's PRF as the generate step produces it: rendered again from the user's spec and the campaign's settings
 * (PRFs are never stored; rendering is deterministic, so the checksum matches the recorded one for the same run).
 */
export async function renderUserProfile(store: RecordStore, name: string, username: string): Promise<UserProfile> {
  const [{ user }, campaign] = await Promise.all([getUserDetail(store, name, username), store.getCampaign(name)]);
  if (!campaign) throw new FleetError('FR_ERR_CAMPAIGN_NOT_FOUND', `no campaign ${name}`, { campaign: name });
  const rendered = renderProfile(user.spec, toProfileOptions(campaign.settings));
  if (!rendered.ok) throw new FleetError(rendered.rejection.code, rendered.rejection.reason, { campaign: name });
  const { fileName, bytes, text, sha256 } = rendered.artifact;
  return { fileName, bytes, text, sha256, ...(user.checksum !== undefined && { recordedSha256: user.checksum }) };
}
