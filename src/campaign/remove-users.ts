import { FleetError } from '../errors/index.js';
import type { RecordStore } from '../store/types.js';
import { requireCampaign } from './start-campaign.js';

export interface RemoveResult {
  readonly removed: boolean;
  /** Why the table refused (a step on the workstation must record its outcome first). */
  readonly reason?: string;
}

/** Intent `remove` for one user: its record, history and index entries go; its job, if any, becomes stale. */
export async function removeUser(
  store: RecordStore,
  name: string,
  username: string,
  now: number,
): Promise<RemoveResult> {
  await requireCampaign(store, name);
  const user = await store.findUserByName(name, username);
  if (!user)
    throw new FleetError('FR_ERR_USER_NOT_FOUND', `no user ${username} in campaign ${name}`, { campaign: name });
  const [result] = await store.removeUsers(name, [user.userKey], now);
  if (result?.result === 'moved') return { removed: true };
  return { removed: false, reason: result?.result === 'refused' ? result.reason : 'no such user' };
}
