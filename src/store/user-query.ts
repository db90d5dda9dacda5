import type { Redis } from 'ioredis';
import { FleetError } from '../errors/index.js';
import { normalizeUsername, parseNameMember, type StoreKeys, toUserKey } from './keys.js';
import type { StoreScripts } from './store-scripts.js';
import type { UserFilter, UserPage, UserRecord } from './types.js';
import { decodeUser } from './user-codec.js';

/**
 * Paged queries over the indexes, never "load all": one index drives the walk (name prefix, error code, site,
 * state or the name index), the other filters apply to the records fetched, and a page stops after at most
 * SCAN_BUDGET index entries (a substring search is a bounded scan that hands back a cursor to continue).
 * Cursors are keyset positions (last member seen), so pages stay stable while nothing changes.
 */
const SCAN_BUDGET = 10_000;
const MAX_CHUNK = 1_000;

interface Position {
  /** last member consumed */
  readonly m: string;
  /** its score (state index only) */
  readonly s?: number;
}

interface Entry {
  readonly member: string;
  readonly userKey: string;
  readonly score?: number;
}

interface Driver {
  fetch(after: Position | undefined, count: number): Promise<Entry[]>;
}

export async function queryUserPage(
  redis: Redis,
  scripts: StoreScripts,
  keys: StoreKeys,
  campaign: string,
  filter: UserFilter,
  page: { cursor?: string; limit: number },
): Promise<UserPage> {
  const limit = Math.max(1, Math.min(page.limit, MAX_CHUNK));
  if (filter.user !== undefined) return queryOneUser(redis, keys, campaign, filter, page.cursor);
  const driver = chooseDriver(redis, scripts, keys, campaign, filter);
  const nameFilter = toNameFilter(filter);
  const indexes = otherIndexes(keys, campaign, filter);
  const users: UserRecord[] = [];
  let after = decodeCursor(page.cursor);
  let scanned = 0;
  // One index answers the whole filter: read exactly a page. Otherwise read ahead (cheap: index members only)
  // and fetch records just for the entries that may match, a page's worth at a time.
  const criteria = [filter.state, filter.site, filter.code, filter.prefix, filter.search].filter(
    (v) => v !== undefined,
  );
  const exact = criteria.length <= 1 && filter.search === undefined;
  const chunk = exact ? limit : MAX_CHUNK;
  let pending: Entry[] = [];
  const flush = async (): Promise<boolean> => {
    const records = await fetchRecords(redis, keys, campaign, pending);
    for (const entry of pending) {
      after = toPosition(entry);
      const record = records.get(entry.userKey);
      if (record && matchesFilter(record, filter)) users.push(record);
      if (users.length === limit) return true;
    }
    pending = [];
    return false;
  };
  while (scanned < SCAN_BUDGET) {
    const entries = await driver.fetch(after, chunk);
    scanned += entries.length;
    const candidates = await inIndexes(
      redis,
      indexes,
      entries.filter((entry) => nameFilter(entry.member)),
    );
    for (const entry of candidates) {
      pending.push(entry);
      if (pending.length >= limit - users.length && (await flush())) return toPage(users, after);
    }
    if (await flush()) return toPage(users, after);
    const last = entries.at(-1);
    if (last) after = toPosition(last);
    if (entries.length < chunk) return { users };
  }
  return toPage(users, after);
}

function toPosition(entry: Entry): Position {
  return entry.score === undefined ? { m: entry.member } : { m: entry.member, s: entry.score };
}

function toPage(users: UserRecord[], after: Position | undefined): UserPage {
  return after ? { users, nextCursor: encodeCursor(after) } : { users };
}

export function matchesFilter(user: UserRecord, filter: UserFilter): boolean {
  if (filter.state !== undefined && user.state !== filter.state) return false;
  if (filter.site !== undefined && user.site !== filter.site) return false;
  if (filter.code !== undefined && user.lastError?.code !== filter.code && user.lastError?.cause !== filter.code)
    return false;
  const name = normalizeUsername(user.username);
  if (filter.prefix !== undefined && !name.startsWith(normalizeUsername(filter.prefix))) return false;
  if (filter.search !== undefined && !name.includes(normalizeUsername(filter.search))) return false;
  if (filter.user !== undefined && name !== normalizeUsername(filter.user)) return false;
  return true;
}

async function queryOneUser(
  redis: Redis,
  keys: StoreKeys,
  campaign: string,
  filter: UserFilter,
  cursor: string | undefined,
): Promise<UserPage> {
  if (cursor !== undefined) return { users: [] };
  const userKey = toUserKey(filter.user ?? '');
  const [record] = await fetchUsers(redis, keys, campaign, [userKey]);
  return { users: record && matchesFilter(record, filter) ? [record] : [] };
}

function chooseDriver(
  redis: Redis,
  scripts: StoreScripts,
  keys: StoreKeys,
  campaign: string,
  filter: UserFilter,
): Driver {
  if (filter.prefix !== undefined) {
    const prefix = normalizeUsername(filter.prefix);
    const upper = Buffer.concat([Buffer.from(`(${prefix}`), Buffer.from([0xff])]);
    return lexDriver(redis, keys.names(campaign), `[${prefix}`, upper, parseNameMember);
  }
  if (filter.code !== undefined) return lexDriver(redis, keys.byCode(campaign, filter.code), '-', '+', (m) => m);
  if (filter.site !== undefined) return lexDriver(redis, keys.bySite(campaign, filter.site), '-', '+', (m) => m);
  if (filter.state !== undefined) return scoreDriver(scripts, keys.byState(campaign, filter.state));
  return lexDriver(redis, keys.names(campaign), '-', '+', parseNameMember);
}

/**
 * The indexes of the filter's other criteria (the driver walks one): an entry missing from any of them cannot match,
 * so its record is never fetched. The indexes move with the records (same Lua step), and the records are still
 * checked after, so this only saves reads: a site of 1/20 under an error code costs one ZSCORE per entry read
 * ahead rather than a record fetch.
 */
function otherIndexes(keys: StoreKeys, campaign: string, filter: UserFilter): string[] {
  if (filter.prefix !== undefined) {
    return [
      ...(filter.code !== undefined ? [keys.byCode(campaign, filter.code)] : []),
      ...(filter.site !== undefined ? [keys.bySite(campaign, filter.site)] : []),
      ...(filter.state !== undefined ? [keys.byState(campaign, filter.state)] : []),
    ];
  }
  if (filter.code !== undefined) {
    return [
      ...(filter.site !== undefined ? [keys.bySite(campaign, filter.site)] : []),
      ...(filter.state !== undefined ? [keys.byState(campaign, filter.state)] : []),
    ];
  }
  if (filter.site !== undefined && filter.state !== undefined) return [keys.byState(campaign, filter.state)];
  return [];
}

/** The entries present in every index (one pipelined round trip of ZSCOREs). */
async function inIndexes(redis: Redis, indexes: readonly string[], entries: Entry[]): Promise<Entry[]> {
  if (indexes.length === 0 || entries.length === 0) return entries;
  const pipeline = redis.pipeline();
  for (const index of indexes) for (const entry of entries) pipeline.zscore(index, entry.userKey);
  const replies = (await pipeline.exec()) ?? [];
  return entries.filter((_, i) =>
    indexes.every((_index, k) => {
      const [error, score] = replies[k * entries.length + i] ?? [null, null];
      if (error) throw error;
      return score !== null;
    }),
  );
}

function lexDriver(
  redis: Redis,
  key: string,
  min: string,
  max: string | Buffer,
  toKey: (member: string) => string,
): Driver {
  return {
    async fetch(after, count) {
      const from = after ? `(${after.m}` : min;
      const members = (await redis.call('ZRANGEBYLEX', [key, from, max, 'LIMIT', 0, count])) as string[];
      return members.map((member) => ({ member, userKey: toKey(member) }));
    },
  };
}

/** Ordered by (updatedAt, userKey); each page resumes exactly after the last entry seen (see PAGE_BY_SCORE_LUA). */
function scoreDriver(scripts: StoreScripts, key: string): Driver {
  return {
    async fetch(after, count) {
      const args = [after?.s ?? 0, after?.m ?? '', count];
      const reply = (await scripts.run('frPageByScore', key, args)) as unknown[];
      return toScoredPairs(reply).map(([member, score]) => ({ member, userKey: member, score }));
    },
  };
}

/** RESP3 answers WITHSCORES with [member, score] pairs, RESP2 with a flat list. */
function toScoredPairs(reply: readonly unknown[]): Array<[string, number]> {
  if (reply.length > 0 && Array.isArray(reply[0])) {
    return (reply as Array<[string, string | number]>).map(([member, score]) => [member, Number(score)]);
  }
  const pairs: Array<[string, number]> = [];
  for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([String(reply[i]), Number(reply[i + 1])]);
  return pairs;
}

function toNameFilter(filter: UserFilter): (member: string) => boolean {
  if (filter.search === undefined) return () => true;
  const needle = normalizeUsername(filter.search);
  // Name members start with the lowercased name: filter before fetching records. Other indexes hold bare keys.
  return (member) => !member.includes('\0') || member.slice(0, member.lastIndexOf('\0')).includes(needle);
}

async function fetchRecords(
  redis: Redis,
  keys: StoreKeys,
  campaign: string,
  entries: readonly Entry[],
): Promise<Map<string, UserRecord>> {
  const map = new Map<string, UserRecord>();
  const records = await fetchUsers(
    redis,
    keys,
    campaign,
    entries.map((entry) => entry.userKey),
  );
  for (const record of records) if (record) map.set(record.userKey, record);
  return map;
}

/** Record hash + spec of each user in one round trip (pipeline). */
export async function fetchUsers(
  redis: Redis,
  keys: StoreKeys,
  campaign: string,
  userKeys: readonly string[],
): Promise<Array<UserRecord | undefined>> {
  if (userKeys.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const userKey of userKeys) pipeline.hgetall(keys.user(campaign, userKey)).get(keys.spec(campaign, userKey));
  const replies = (await pipeline.exec()) ?? [];
  return userKeys.map((userKey, index) => {
    const [hashError, hash] = replies[index * 2] ?? [null, {}];
    const [specError, spec] = replies[index * 2 + 1] ?? [null, null];
    if (hashError) throw hashError;
    if (specError) throw specError;
    return decodeUser(campaign, userKey, hash as Record<string, string>, spec as string | null);
  });
}

function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

function decodeCursor(cursor: string | undefined): Position | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const position = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as Position;
    if (typeof position.m !== 'string') throw new Error('no member');
    return position;
  } catch {
    throw new FleetError('FR_ERR_USAGE', 'invalid page cursor');
  }
}
