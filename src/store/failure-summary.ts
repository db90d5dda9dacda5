import type { Redis } from 'ioredis';
import { KEY_SUFFIX, type StoreKeys } from './keys.js';

/**
 * Failures and retry backoff at a glance, read from the state indexes: only the users in those states are read
 * (four short hash fields each, tallied inside Redis), never the whole campaign, and at most `limit` of them,
 * newest first.
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

/** ≈ 25 ms of Redis time for the breakdown (measured: 2,000 failed users); beyond, the newest 2,000 speak for all. */
const DEFAULT_LIMIT = 2_000;
/** One field per user: the backoff count stays exact up to this many users retrying. */
const BACKOFF_LIMIT = 10_000;
const TOP = 10;

/**
 * Server-side tally (one round trip; the 10,000 HMGETs of the worst case cost Redis a few ms instead of a client
 * parsing 10,000 replies). Keys are derived from the campaign base like the store's own scripts (one slot).
 * KEYS[1] campaign base · ARGV: limit, then the states → {total, sampled, codes[], sites[], hosts[]} (value, count…).
 */
const FAILURES_SCRIPT = `
local base, limit = KEYS[1], tonumber(ARGV[1])
local total, sampled = 0, 0
local tallies = {{}, {}, {}}
local function add(t, k) t[k] = (t[k] or 0) + 1 end
for i = 2, #ARGV do total = total + redis.call('ZCARD', base .. '${KEY_SUFFIX.state}' .. ARGV[i]) end
for i = 2, #ARGV do
  if sampled >= limit then break end
  local members = redis.call('ZREVRANGE', base .. '${KEY_SUFFIX.state}' .. ARGV[i], 0, limit - sampled - 1)
  for _, uk in ipairs(members) do
    local f = redis.call('HMGET', base .. '${KEY_SUFFIX.user}' .. uk, 'ec', 'cc', 'si', 'h')
    local code = (f[2] and f[2] ~= '') and f[2] or ((f[1] and f[1] ~= '') and f[1] or '(no error recorded)')
    add(tallies[1], code)
    add(tallies[2], (f[3] and f[3] ~= '') and f[3] or '(none)')
    if f[4] and f[4] ~= '' then add(tallies[3], f[4]) end
    sampled = sampled + 1
  end
end
local out = {total, sampled}
for _, t in ipairs(tallies) do
  local flat = {}
  for k, n in pairs(t) do flat[#flat + 1] = k; flat[#flat + 1] = n end
  out[#out + 1] = flat
end
return out`;

/** KEYS[1] campaign base · ARGV: limit, now → {waiting, earliest, latest} of nextAttemptAt > now among retrying users. */
const BACKOFF_SCRIPT = `
local base, limit, now = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local waiting, first, last = 0, false, false
for _, uk in ipairs(redis.call('ZREVRANGE', base .. '${KEY_SUFFIX.state}retrying', 0, limit - 1)) do
  local at = tonumber(redis.call('HGET', base .. '${KEY_SUFFIX.user}' .. uk, 'na'))
  if at and at > now then
    waiting = waiting + 1
    if not first or at < first then first = at end
    if not last or at > last then last = at end
  end
end
return {waiting, first and tostring(first) or '', last and tostring(last) or ''}`;

export function createFailureReader(redis: Redis, keys: StoreKeys): FailureReader {
  return {
    async failures(campaign, states, limit = DEFAULT_LIMIT) {
      const [total, sampled, codes, sites, hosts] = (await redis.eval(
        FAILURES_SCRIPT,
        1,
        keys.campaignBase(campaign),
        limit,
        ...states,
      )) as [number, number, Array<string | number>, Array<string | number>, Array<string | number>];
      return {
        total,
        sampled,
        byCode: ranked(codes),
        bySite: ranked(sites),
        topHosts: ranked(hosts).slice(0, TOP),
      };
    },

    async backoff(campaign, now, limit = BACKOFF_LIMIT) {
      const [waiting, first, last] = (await redis.eval(BACKOFF_SCRIPT, 1, keys.campaignBase(campaign), limit, now)) as [
        number,
        string,
        string,
      ];
      if (waiting === 0) return { waiting: 0 };
      return { waiting, nextAt: Number(first), lastAt: Number(last) };
    },
  };
}

/** `[value, count, value, count…]` → most first; ties by name so the output is stable. */
function ranked(flat: ReadonlyArray<string | number>): CountedValue[] {
  const values: CountedValue[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) values.push({ value: String(flat[i]), count: Number(flat[i + 1]) });
  return values.sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
}
