import { USER_STATES } from '../rollout/states.js';
import type { RecordStore, UserFilter } from '../store/types.js';
import { requireCampaign } from './start-campaign.js';

const PAGE = 1_000;

/**
 * How many users a filter matches (the count an action confirms, the table's "N matching"). No filter, or a state
 * alone, is read from the per-state counters (O(1)); anything else is counted page by page over the indexes.
 */
export async function countUsers(store: RecordStore, name: string, filter: UserFilter): Promise<number> {
  await requireCampaign(store, name);
  const keys = Object.entries(filter)
    .filter(([, value]) => value !== undefined)
    .map(([key]) => key);
  if (keys.length === 0 || (keys.length === 1 && keys[0] === 'state')) {
    const counts = await store.countByState(name);
    return filter.state === undefined
      ? USER_STATES.reduce((sum, state) => sum + counts[state], 0)
      : counts[filter.state];
  }
  let count = 0;
  let cursor: string | undefined;
  do {
    const page = await store.queryUsers(name, filter, { limit: PAGE, ...(cursor !== undefined && { cursor }) });
    count += page.users.length;
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return count;
}
