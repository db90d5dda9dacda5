import { FleetError } from '../errors/index.js';
import type { AttemptRecord, RecordStore, UserRecord } from '../store/types.js';
import { requireCampaign } from './start-campaign.js';

export interface UserDetail {
  readonly user: UserRecord;
  /** Newest first, at most the last 20. */
  readonly attempts: AttemptRecord[];
}

export async function getUserDetail(store: RecordStore, name: string, username: string): Promise<UserDetail> {
  await requireCampaign(store, name);
  const user = await store.findUserByName(name, username);
  if (!user) {
    throw new FleetError('FR_ERR_USER_NOT_FOUND', `no user ${JSON.stringify(username)} in campaign ${name}`, {
      campaign: name,
    });
  }
  return { user, attempts: await store.getAttempts(name, user.userKey) };
}
