import type { Redis } from 'ioredis';
import type { UserState } from '../rollout/states.js';
import { createStoreKeys } from './keys.js';

/** What stays of an archived campaign: a few numbers and where its report went (`campaigns --archived`). */
export interface ArchivedCampaign {
  readonly name: string;
  /** Its state when archived (done, cancelled…). */
  readonly state: string;
  readonly totalUsers: number;
  readonly counts: Readonly<Partial<Record<UserState, number>>>;
  readonly createdAt: number;
  readonly finishedAt?: number;
  readonly archivedAt: number;
  /** The final report (CSV, one row per user), written before the records were deleted. */
  readonly reportPath: string;
}

export interface CampaignPurge {
  /**
   * Deletes every record key of the campaign (SCAN + UNLINK of `<p>:fr:c:{<c>}:*`), the campaign record and its
   * name in the index last: a purge cut short leaves the campaign listed, so running it again finishes it.
   * Returns the number of keys deleted.
   */
  deleteRecords(campaign: string): Promise<number>;
  saveArchive(summary: ArchivedCampaign): Promise<void>;
  /** Oldest archive first. */
  listArchives(): Promise<ArchivedCampaign[]>;
}

const SCAN_COUNT = 1000;

/** SCAN + UNLINK of every key matching `pattern` except `keep`; returns how many were deleted. */
export async function unlinkMatching(redis: Redis, pattern: string, keep?: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
    cursor = next;
    const doomed = keep === undefined ? found : found.filter((key) => key !== keep);
    if (doomed.length > 0) deleted += await redis.unlink(...doomed);
  } while (cursor !== '0');
  return deleted;
}

/** `<p>:fr:archive`: hash, field `<campaign>@<archivedAt>` → the summary as JSON (beside src/store/keys.ts keys). */
export function createCampaignPurge(redis: Redis, prefix: string): CampaignPurge {
  const keys = createStoreKeys(prefix);
  const archiveKey = `${prefix}:fr:archive`;
  return {
    async deleteRecords(campaign) {
      const meta = keys.campaign(campaign);
      const deleted = await unlinkMatching(redis, keys.campaignPattern(campaign), meta);
      const [[, unlinked] = [null, 0]] = (await redis.multi().unlink(meta).zrem(keys.campaigns, campaign).exec()) as [
        Error | null,
        number,
      ][];
      return deleted + Number(unlinked);
    },
    async saveArchive(summary) {
      await redis.hset(archiveKey, `${summary.name}@${summary.archivedAt}`, JSON.stringify(summary));
    },
    async listArchives() {
      const values = await redis.hvals(archiveKey);
      return values.map((value) => JSON.parse(value) as ArchivedCampaign).sort((a, b) => a.archivedAt - b.archivedAt);
    },
  };
}
