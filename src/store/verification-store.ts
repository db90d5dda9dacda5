import type { Redis } from 'ioredis';
import { createStoreKeys } from './keys.js';

/**
 * `fleet-rollout verify` results, kept beside the user records without touching them: the user stays `applied`
 * (which only means "registry staged"); whether Outlook really took the PRF is this separate record.
 * One hash per campaign, `<prefix>:fr:c:{<campaign>}:verification`, field = userKey, value = JSON.
 */
export const VERIFICATION_STATUSES = [
  'verified',
  'pending',
  'pending-restart',
  'not-taken',
  'unreachable',
  'error',
] as const;
export type VerificationStatus = (typeof VERIFICATION_STATUSES)[number];

export interface VerificationRecord {
  readonly status: VerificationStatus;
  /** Escaped and bounded before it gets here. */
  readonly reason: string;
  readonly host: string;
  readonly at: number;
}

export interface VerificationStore {
  save(campaign: string, userKey: string, record: VerificationRecord): Promise<void>;
  get(campaign: string, userKey: string): Promise<VerificationRecord | undefined>;
  /** The records of several users in one call, in the order asked. */
  getMany(campaign: string, userKeys: readonly string[]): Promise<Array<VerificationRecord | undefined>>;
  /** Count per status for `status` / the summary line. */
  count(campaign: string): Promise<Partial<Record<VerificationStatus, number>>>;
}

function decode(raw: string | null | undefined): VerificationRecord | undefined {
  if (!raw) return undefined;
  try {
    const value = JSON.parse(raw) as Partial<VerificationRecord>;
    if (!VERIFICATION_STATUSES.includes(value.status as VerificationStatus)) return undefined;
    return {
      status: value.status as VerificationStatus,
      reason: String(value.reason ?? ''),
      host: String(value.host ?? ''),
      at: Number(value.at ?? 0),
    };
  } catch {
    return undefined;
  }
}

export function createVerificationStore(redis: Redis, prefix: string): VerificationStore {
  const keys = createStoreKeys(prefix);
  const keyOf = (campaign: string): string => `${keys.campaignBase(campaign)}:verification`;
  return {
    async save(campaign, userKey, record) {
      await redis.hset(keyOf(campaign), userKey, JSON.stringify(record));
    },
    async get(campaign, userKey) {
      return decode(await redis.hget(keyOf(campaign), userKey));
    },
    async getMany(campaign, userKeys) {
      if (userKeys.length === 0) return [];
      return (await redis.hmget(keyOf(campaign), ...userKeys)).map(decode);
    },
    async count(campaign) {
      const counts: Partial<Record<VerificationStatus, number>> = {};
      let cursor = '0';
      do {
        const [next, entries] = await redis.hscan(keyOf(campaign), cursor, 'COUNT', 500);
        cursor = next;
        for (let i = 1; i < entries.length; i += 2) {
          const record = decode(entries[i]);
          if (record) counts[record.status] = (counts[record.status] ?? 0) + 1;
        }
      } while (cursor !== '0');
      return counts;
    },
  };
}
