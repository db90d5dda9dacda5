import type { Redis } from 'ioredis';
import type { StoreKeys } from './keys.js';

/**
 * Failures and retry backoff at a glance, read from the state indexes: only the users in those states are read
 * (four short hash fields each, pipelined), never the whole campaign, and at most `limit` of them, newest first.
 * Past the limit the breakdown describes the latest failures (`sampled` < `total` says so).
 */
export interface CountedValue {
  readonly value: string;
  readonly count: number;
}

export interface FailureSummary {
  /** Users resting in a failed state (failed, rollback-failed). */
  readonly total: number;
  /** How many of them the breakdown below was computed from (the newest). */
  readonly sampled: number;
  /** By underlying code: the cause a wrapping code stands for (FR_ERR_ATTEMPTS_EXHAUSTED → the last attempt's). */
  readonly byCode: readonly CountedValue[];
  readonly bySite: readonly CountedValue[];
  /** Workstations with the most failed users. */
  readonly topHosts: readonly CountedValue[];
}

export interface BackoffSummary {
  /** Users waiting for their next attempt (state retrying, nextAttemptAt in the future). */
  readonly waiting: number;
  /** The earliest and the latest planned attempt among them. */
  readonly nextAt?: number;
  readonly lastAt?: number;
}

export interface FailureReader {
  failures(campaign: string, states: readonly string[], limit?: number): Promise<FailureSummary>;
  backoff(campaign: string, now: number, limit?: number): Promise<BackoffSummary>;
}

const DEFAULT_LIMIT = 10_000;
const CHUNK = 1_000;
const TOP = 10;
/** A site is always known on an imported user; a rejected row has none. */
const NO_SITE = '(none)';

export function createFailureReader(redis: Redis, keys: StoreKeys): FailureReader {
  /** Newest `limit` members of some state indexes, and how many they hold in all. */
  async function members(campaign: string, states: readonly string[], limit: number) {
    const pipeline = redis.pipeline();
    for (const state of states) pipeline.zcard(keys.byState(campaign, state));
    for (const state of states) pipeline.zrevrange(keys.byState(campaign, state), 0, limit - 1);
    const replies = (await pipeline.exec()) ?? [];
    const values = replies.map(([error, value]) => {
      if (error) throw error;
      return value;
    });
    const total = values.slice(0, states.length).reduce((sum: number, n) => sum + Number(n), 0);
    const keysRead = (values.slice(states.length) as string[][]).flat().slice(0, limit);
    return { total, userKeys: keysRead };
  }

  async function readFields(campaign: string, userKeys: readonly string[], fields: readonly string[]) {
    const rows: Array<Array<string | null>> = [];
    for (let i = 0; i < userKeys.length; i += CHUNK) {
      const pipeline = redis.pipeline();
      for (const userKey of userKeys.slice(i, i + CHUNK)) pipeline.hmget(keys.user(campaign, userKey), ...fields);
      for (const [error, value] of (await pipeline.exec()) ?? []) {
        if (error) throw error;
        rows.push(value as Array<string | null>);
      }
    }
    return rows;
  }

  return {
    async failures(campaign, states, limit = DEFAULT_LIMIT) {
      const { total, userKeys } = await members(campaign, states, limit);
      const rows = await readFields(campaign, userKeys, ['ec', 'cc', 'si', 'h']);
      const byCode = new Map<string, number>();
      const bySite = new Map<string, number>();
      const byHost = new Map<string, number>();
      const add = (map: Map<string, number>, key: string): void => {
        map.set(key, (map.get(key) ?? 0) + 1);
      };
      for (const [code, cause, site, host] of rows) {
        add(byCode, cause || code || '(no error recorded)');
        add(bySite, site || NO_SITE);
        if (host) add(byHost, host);
      }
      return {
        total,
        sampled: rows.length,
        byCode: ranked(byCode),
        bySite: ranked(bySite),
        topHosts: ranked(byHost).slice(0, TOP),
      };
    },

    async backoff(campaign, now, limit = DEFAULT_LIMIT) {
      const { userKeys } = await members(campaign, ['retrying'], limit);
      const planned = (await readFields(campaign, userKeys, ['na']))
        .map(([at]) => Number(at))
        .filter((at) => Number.isFinite(at) && at > now);
      if (planned.length === 0) return { waiting: 0 };
      return { waiting: planned.length, nextAt: Math.min(...planned), lastAt: Math.max(...planned) };
    },
  };
}

/** Most first; ties by name so the output is stable. */
function ranked(map: ReadonlyMap<string, number>): CountedValue[] {
  return [...map]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
}
