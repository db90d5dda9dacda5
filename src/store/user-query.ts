import type { Redis } from 'ioredis';
import { FleetError } from '../errors/index.js';
import { normalizeUsername, parseNameMember, type StoreKeys, toUserKey } from './keys.js';
import type { StoreScripts } from './store-scripts.js';
import type { UserFilter, UserPage, UserRecord } from './types.js';
import { decodeUser } from './user-codec.js';

/**
 * Paged queries over the indexes, never "load all": one index drives the walk (name prefix, error code, site,
 * stage, state or the name index), the other filters apply to the records fetched, and a page stops after at most
 * SCAN_BUDGET index entries (a substring search of the username, e-mail or host is a bounded scan of the records
 * that hands back a cursor to continue).
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
  const users: UserRecord[] = [];
  let after = decodeCursor(page.cursor);
  let scanned = 0;
  // One index answers the whole filter: read exactly a page. Otherwise read ahead (cheap: index members only)
  // and fetch records just for the entries that may match, a page's worth at a time.
  const criteria = [filter.state, filter.site, filter.code, filter.stage, filter.prefix, filter.search].filter(
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
    for (const entry of entries) {
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
  if (filter.stage !== undefined && user.stage !== filter.stage) return false;
  if (filter.code !== undefined && user.lastError?.code !== filter.code && user.lastError?.cause !== filter.code)
    return false;
  const name = normalizeUsername(user.username);
  if (filter.prefix !== undefined && !name.startsWith(normalizeUsername(filter.prefix))) return false;
  if (filter.search !== undefined && !matchesSearch(user, name, normalizeUsername(filter.search))) return false;
  if (filter.user !== undefined && name !== normalizeUsername(filter.user)) return false;
  return true;
}

/** A search matches the username, the e-mail address or the host (case-insensitive substring). */
function matchesSearch(user: UserRecord, name: string, needle: string): boolean {
  if (name.includes(needle)) return true;
  const { email, host } = user.spec;
  return email?.toLowerCase().includes(needle) === true || host?.toLowerCase().includes(needle) === true;
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
  if (filter.stage !== undefined) return lexDriver(redis, keys.byStage(campaign, filter.stage), '-', '+', (m) => m);
  if (filter.state !== undefined) return scoreDriver(scripts, keys.byState(campaign, filter.state));
  return lexDriver(redis, keys.names(campaign), '-', '+', parseNameMember);
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
