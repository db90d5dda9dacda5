import type { Redis } from 'ioredis';
import { FleetError } from '../errors/index.js';
import { explainCampaignRefusal, explainUserRefusal, type UserIntent } from '../rollout/lifecycle.js';
import { type CampaignState, USER_STATES, type UserState } from '../rollout/states.js';
import { decodeCampaign, encodeCampaign, STATE_FIELDS } from './campaign-codec.js';
import { assertCampaignName, createStoreKeys, toNameMember, toUserKey } from './keys.js';
import { registerStoreScripts } from './store-scripts.js';
import type {
  AttemptRecord,
  CampaignRecord,
  RecordStore,
  TransitionResult,
  UpsertResult,
  UserRecord,
  UserTransition,
} from './types.js';
import { decodeUser, encodeError, encodePatch, encodeSpec } from './user-codec.js';
import { fetchUsers, queryUserPage } from './user-query.js';
import { decodeWaveCounts } from './wave-codec.js';

/** Attempt history kept per user (newest first), and the stderr tail kept per attempt. */
export const MAX_ATTEMPTS_KEPT = 20;
export const MAX_STDERR_TAIL = 2_048;
const SCAN_BATCH = 1_000;

/** The store of record on Redis (see keys.ts for the layout and lua-scripts.ts for the atomic changes). */
export function createRecordStore(redis: Redis, prefix: string): RecordStore {
  const keys = createStoreKeys(prefix);
  const scripts = registerStoreScripts(redis);
  const base = (campaign: string): string => {
    assertCampaignName(campaign);
    return keys.campaignBase(campaign);
  };

  const store: RecordStore = {
    async getCampaign(name) {
      return decodeCampaign(await redis.hgetall(keys.campaign(checkName(name))));
    },

    async saveCampaign(record) {
      const key = keys.campaign(checkName(record.name));
      const fields = encodeCampaign(record);
      const stateFields: string[] = STATE_FIELDS.filter((field) => field in fields);
      const plain = Object.entries(fields).filter(([field]) => !stateFields.includes(field));
      // State fields are only written when the campaign is new; afterwards only the state scripts change them.
      const multi = redis.multi().hset(key, Object.fromEntries(plain));
      for (const field of stateFields) multi.hsetnx(key, field, fields[field] ?? '');
      multi.zadd(keys.campaigns, 'NX', record.createdAt, record.name);
      await multi.exec();
    },

    async applyCampaignIntent(name, intent, reason, now) {
      const [previous, , moved] = (await scripts.run('frCampaignState', base(name), [intent, reason, now])) as [
        string,
        string,
        number,
      ];
      if (previous === '') throw new FleetError('FR_ERR_CAMPAIGN_NOT_FOUND', `no campaign named ${name}`);
      if (moved === 0) {
        throw new FleetError(
          'FR_ERR_CAMPAIGN_STATE',
          `campaign ${name} is ${previous}: ${explainCampaignRefusal(previous as CampaignState, intent)}`,
          { campaign: name, state: previous },
        );
      }
      const campaign = await store.getCampaign(name);
      if (!campaign) throw new FleetError('FR_ERR_CAMPAIGN_NOT_FOUND', `no campaign named ${name}`);
      return { previous: previous as CampaignState, campaign, changed: moved === 1 };
    },

    async listCampaigns() {
      const names = await redis.zrange(keys.campaigns, '0', '-1');
      const records = await Promise.all(names.map((name) => store.getCampaign(name)));
      return records.filter((record): record is CampaignRecord => record !== undefined);
    },

    async upsertUsers(campaign, rows, importNo, now) {
      const args: Array<string | number> = [now, importNo];
      const userKeys: string[] = [];
      for (const row of rows) {
        const userKey = toUserKey(row.spec.username);
        userKeys.push(userKey);
        args.push(
          userKey,
          row.spec.username,
          toNameMember(row.spec.username, userKey),
          row.line,
          encodeSpec(row.spec),
          row.specHash,
          row.spec.host ?? '',
          row.spec.site ?? '',
          row.spec.displayName ?? '',
          row.wave ?? '',
        );
      }
      const result = { queued: [] as Array<{ userKey: string; run: number }>, added: 0, changed: 0, unchanged: 0 };
      if (rows.length === 0) return result;
      const out = (await scripts.run('frUpsert', base(campaign), args)) as number[];
      userKeys.forEach((userKey, index) => {
        const kind = out[index * 2];
        const run = out[index * 2 + 1] ?? 0;
        if (kind === 0) result.unchanged += 1;
        else {
          if (kind === 1) result.added += 1;
          else result.changed += 1;
          result.queued.push({ userKey, run });
        }
      });
      return result satisfies UpsertResult;
    },

    async markSkipped(campaign, rows, importNo, now) {
      if (rows.length === 0) return;
      const args: Array<string | number> = [now, importNo];
      for (const row of rows) {
        const userKey = toUserKey(row.username);
        const member = toNameMember(row.username, userKey);
        args.push(userKey, row.username, member, row.line, encodeError(row.error), row.error.code);
      }
      await scripts.run('frMarkSkipped', base(campaign), args);
    },

    async getUser(campaign, userKey) {
      // Two plain commands (pipelined by ioredis anyway): cheaper than building a pipeline object per call.
      const name = checkName(campaign);
      const [hash, spec] = await Promise.all([
        redis.hgetall(keys.user(name, userKey)),
        redis.get(keys.spec(name, userKey)),
      ]);
      return decodeUser(name, userKey, hash, spec);
    },

    async getUsers(campaign, userKeys) {
      return fetchUsers(redis, keys, checkName(campaign), userKeys);
    },

    async findUserByName(campaign, username) {
      return store.getUser(campaign, toUserKey(username));
    },

    async transition(campaign, userKey, transition, now) {
      const args = [userKey, ...transitionArgs(transition, now)];
      const out = (await scripts.run('frTransition', base(campaign), args)) as [number, string, number];
      return toTransitionResult(out[0], out[1], out[2], transition.intent);
    },

    async transitionMany(campaign, moves, now) {
      if (moves.length === 0) return [];
      const args: Array<string | number> = [now];
      for (const { userKey, transition } of moves) args.push(userKey, ...transitionArgs(transition, now));
      const out = (await scripts.run('frTransitionMany', base(campaign), args)) as Array<number | string>;
      return moves.map(({ transition }, index) =>
        toTransitionResult(
          Number(out[index * 3]),
          String(out[index * 3 + 1]),
          Number(out[index * 3 + 2]),
          transition.intent,
        ),
      );
    },

    async removeUsers(campaign, userKeys, now) {
      if (userKeys.length === 0) return [];
      const name = checkName(campaign);
      const names = await Promise.all(userKeys.map((userKey) => redis.hget(keys.user(name, userKey), 'un')));
      const args: Array<string | number> = [now];
      userKeys.forEach((userKey, index) => {
        args.push(userKey, toNameMember(names[index] ?? '', userKey));
      });
      const out = (await scripts.run('frRemove', base(campaign), args)) as Array<number | string>;
      return userKeys.map((_, index) =>
        toTransitionResult(Number(out[index * 2]), String(out[index * 2 + 1]), 0, 'remove'),
      );
    },

    async *scanMissing(campaign, importNo, batchSize = SCAN_BATCH) {
      const key = keys.seen(checkName(campaign));
      // Removing users moves them out of the range, so always read the first batch below the import again.
      let offset = 0;
      for (;;) {
        const batch = await redis.zrangebyscore(key, '-inf', `(${importNo}`, 'LIMIT', offset, batchSize);
        if (batch.length === 0) return;
        yield batch;
        offset += batch.length;
      }
    },

    async countMissing(campaign, importNo) {
      return redis.zcount(keys.seen(checkName(campaign)), '-inf', `(${importNo}`);
    },

    async beginImport(campaign, token, leaseMs, total, now) {
      await scripts.run('frImportState', base(campaign), ['begin', now, token, leaseMs, total]);
    },

    async progressImport(campaign, token, leaseMs, written) {
      await scripts.run('frImportState', base(campaign), ['progress', 0, token, leaseMs, written]);
    },

    async endImport(campaign, token, now) {
      await scripts.run('frImportState', base(campaign), ['end', now, token]);
    },

    async failImport(campaign, reason, now) {
      await scripts.run('frImportState', base(campaign), ['fail', now, reason.slice(0, 300)]);
    },

    async isImportAlive(campaign) {
      return (await redis.exists(keys.importGuard(checkName(campaign)))) === 1;
    },

    async getAttempts(campaign, userKey) {
      const items = await redis.lrange(keys.attempts(checkName(campaign), userKey), 0, MAX_ATTEMPTS_KEPT - 1);
      return items.map((item) => JSON.parse(item) as AttemptRecord);
    },

    async countByState(campaign) {
      return toCounts(await redis.hgetall(keys.counts(checkName(campaign))));
    },

    async recount(campaign) {
      const counts = toCounts({});
      for await (const batch of scanUserKeys(redis, keys.userPattern(checkName(campaign)))) {
        const pipeline = redis.pipeline();
        for (const key of batch) pipeline.hget(key, 's');
        for (const [, state] of (await pipeline.exec()) ?? []) {
          if (typeof state === 'string' && state in counts) counts[state as UserState] += 1;
        }
      }
      return counts;
    },

    async waveCounts(campaign) {
      return decodeWaveCounts(await redis.hgetall(`${base(campaign)}:wv`));
    },

    async waveWaiting(campaign, wave) {
      const name = checkName(campaign);
      const userKeys = await redis.zrange(`${base(name)}:ww:${wave}`, '0', '-1');
      const runs =
        userKeys.length > 0
          ? await redis.pipeline(userKeys.map((uk) => ['hget', keys.user(name, uk), 'r'])).exec()
          : [];
      return userKeys.map((userKey, i) => ({ userKey, run: Number(runs?.[i]?.[1] ?? 0) }));
    },

    async recentApplyDurations(campaign) {
      return (await redis.lrange(`${base(campaign)}:dur`, 0, -1)).map(Number).filter(Number.isFinite);
    },

    async completionsPerMinute(campaign, minutes, now) {
      const last = now - (now % 60_000);
      const slots = Array.from({ length: minutes }, (_, index) => last - (minutes - 1 - index) * 60_000);
      if (slots.length === 0) return [];
      const values = await redis.hmget(keys.throughput(checkName(campaign)), ...slots.map(String));
      return slots.map((slot, index): [number, number] => [slot, Number(values[index] ?? 0)]);
    },

    queryUsers(campaign, filter, page) {
      return queryUserPage(redis, scripts, keys, checkName(campaign), filter, page);
    },

    async *scanUsers(campaign, filter, batchSize = SCAN_BATCH) {
      let cursor: string | undefined;
      do {
        const page = await store.queryUsers(campaign, filter, { limit: batchSize, ...(cursor && { cursor }) });
        if (page.users.length > 0) yield page.users as UserRecord[];
        cursor = page.nextCursor;
      } while (cursor !== undefined);
    },
  };
  return store;
}

/** transition_one's arguments after the userKey (see lua-scripts.ts). */
function transitionArgs(transition: UserTransition, now: number): Array<string | number> {
  const patch = JSON.stringify(encodePatch(transition.patch));
  const attempt = transition.attempt ? JSON.stringify(boundAttempt(transition.attempt)) : '';
  return [transition.run ?? '', transition.intent, now, patch, attempt, MAX_ATTEMPTS_KEPT];
}

const RESULTS = { 1: 'moved', 2: 'same', 0: 'refused', [-1]: 'stale', [-2]: 'absent' } as const;

function toTransitionResult(code: number, state: string, run: number, intent: UserIntent): TransitionResult {
  const result = RESULTS[code as keyof typeof RESULTS];
  if (result === undefined || result === 'absent') return { result: 'absent' };
  const current = state as UserState;
  if (result === 'refused') return { result, state: current, run, reason: explainUserRefusal(current, intent) };
  return { result, state: current, run };
}

function boundAttempt(attempt: AttemptRecord): AttemptRecord {
  return {
    ...attempt,
    ...(attempt.stderrTail !== undefined && { stderrTail: attempt.stderrTail.slice(-MAX_STDERR_TAIL) }),
    ...(attempt.message !== undefined && { message: attempt.message.slice(0, 500) }),
  };
}

function checkName(campaign: string): string {
  assertCampaignName(campaign);
  return campaign;
}

function toCounts(hash: Record<string, string>): Record<UserState, number> {
  const counts = Object.fromEntries(USER_STATES.map((state) => [state, 0])) as Record<UserState, number>;
  for (const state of USER_STATES) counts[state] = Number(hash[state] ?? 0);
  return counts;
}

async function* scanUserKeys(redis: Redis, pattern: string): AsyncIterable<string[]> {
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_BATCH);
    cursor = next;
    // Attempt lists share the campaign prefix but not the `:u:` part, so the pattern only yields user hashes.
    if (batch.length > 0) yield batch;
  } while (cursor !== '0');
}
