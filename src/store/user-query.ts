import type { Redis } from 'ioredis';
import { FleetError } from '../errors/index.js';
import { KEY_SUFFIX, normalizeUsername, parseNameMember, type StoreKeys, toUserKey } from './keys.js';
import type { StoreScripts } from './store-scripts.js';
import type { UserFilter, UserPage, UserPageRequest, UserRecord, UserSort } from './types.js';
import { decodeUser } from './user-codec.js';

/**
 * Paged queries over the indexes, never "load all": one index drives the walk (name prefix, error code, site,
 * stage, state or the name index), the other filters apply to the records fetched, and a page stops after at most
 * SCAN_BUDGET index entries. A substring search of the username, e-mail or host is filtered inside Redis
 * (PAGE_BY_LEX_FILTERED_LUA, SEARCH_CALL_BUDGET entries a call, so a call holds Redis a few ms at most) and may
 * read SEARCH_BUDGET entries a page; a page that runs out of budget hands back a cursor to continue.
 * Cursors are keyset positions (last member seen), so pages stay stable while nothing changes.
 */
const SCAN_BUDGET = 10_000;
const SEARCH_BUDGET = 100_000;
const SEARCH_CALL_BUDGET = 500;
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

interface Batch {
  readonly entries: Entry[];
  /** Index entries read (more than `entries` when Redis filtered some out). */
  readonly read: number;
  /** The last entry read, where the next batch resumes. */
  readonly last?: Entry;
  /** The index has nothing after `last`. */
  readonly done: boolean;
}

interface Driver {
  /** Up to `count` entries after `after`, reading at most `budget` index entries. */
  fetch(after: Position | undefined, count: number, budget: number): Promise<Batch>;
  /** Redis drops entries that cannot match: ask for the matches still missing, not a read-ahead. */
  readonly filtered: boolean;
  /** Index entries a page may read. */
  readonly budget: number;
}

export async function queryUserPage(
  redis: Redis,
  scripts: StoreScripts,
  keys: StoreKeys,
  campaign: string,
  filter: UserFilter,
  page: UserPageRequest,
): Promise<UserPage> {
  const limit = Math.max(1, Math.min(page.limit, MAX_CHUNK));
  if (filter.user !== undefined) return queryOneUser(redis, keys, campaign, filter, page.cursor);
  const driver = chooseDriver(redis, scripts, keys, campaign, filter, page.sort);
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
  while (scanned < driver.budget) {
    // Filtered in Redis: ask for the matches still missing (their records are fetched next, nothing more).
    const batch = await driver.fetch(after, driver.filtered ? limit - users.length : chunk, driver.budget - scanned);
    scanned += batch.read;
    for (const entry of batch.entries) {
      pending.push(entry);
      if (pending.length >= limit - users.length && (await flush())) return toPage(users, after);
    }
    if (await flush()) return toPage(users, after);
    if (batch.last) after = toPosition(batch.last);
    if (batch.done) return { users };
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

/**
 * The indexes (key suffixes) of the filter's other criteria, the driver walking one: an entry missing from any of
 * them cannot match, so PAGE_BY_LEX_FILTERED_LUA drops it inside Redis and its record is never fetched. The indexes
 * move with the records (same Lua step), and the records are still checked after: this only saves reads (a site
 * of 1/20 under an error code would otherwise cost twenty record fetches for each user shown).
 */
function otherIndexes(filter: UserFilter): string[] {
  const code = filter.code !== undefined ? [KEY_SUFFIX.code + filter.code] : [];
  const site = filter.site !== undefined ? [KEY_SUFFIX.site + filter.site] : [];
  const stage = filter.stage !== undefined ? [KEY_SUFFIX.stage + filter.stage] : [];
  const state = filter.state !== undefined ? [KEY_SUFFIX.state + filter.state] : [];
  if (filter.prefix !== undefined) return [...code, ...site, ...stage, ...state];
  if (filter.code !== undefined) return [...site, ...stage, ...state];
  if (filter.site !== undefined) return [...stage, ...state];
  if (filter.stage !== undefined) return state;
  return [];
}

function chooseDriver(
  redis: Redis,
  scripts: StoreScripts,
  keys: StoreKeys,
  campaign: string,
  filter: UserFilter,
  sort: UserSort | undefined,
): Driver {
  const byName = sort === 'name' || sort === '-name';
  const reverse = sort === '-name' || sort === '-updated';
  const others = byName ? indexesOf(filter) : otherIndexes(filter);
  const base = keys.campaignBase(campaign);
  const needle = filter.search !== undefined ? normalizeUsername(filter.search) : '';
  const stateDriver = (state: string, backwards: boolean): Driver =>
    needle !== ''
      ? scoreSearchDriver(scripts, base, KEY_SUFFIX.state + state, { reverse: backwards, needle })
      : scoreDriver(scripts, keys.byState(campaign, state), backwards);
  const lex = (suffix: string, min: string, max: string | Buffer, named: boolean): Driver =>
    others.length > 0 || needle !== ''
      ? filteredLexDriver(scripts, base, { suffix, min, max, named, others, reverse, needle })
      : lexDriver(redis, base + suffix, { min, max, reverse }, named ? parseNameMember : (member) => member);
  if (sort === 'updated' || sort === '-updated') {
    if (filter.state === undefined) {
      throw new FleetError(
        'FR_ERR_USAGE',
        'sorting by last change needs a state filter (the state index is ordered by it)',
      );
    }
    return stateDriver(filter.state, reverse);
  }
  if (filter.prefix !== undefined) {
    const prefix = normalizeUsername(filter.prefix);
    const upper = Buffer.concat([Buffer.from(`(${prefix}`), Buffer.from([0xff])]);
    return lex(KEY_SUFFIX.names, `[${prefix}`, upper, true);
  }
  if (byName) return lex(KEY_SUFFIX.names, '-', '+', true);
  if (filter.code !== undefined) return lex(KEY_SUFFIX.code + filter.code, '-', '+', false);
  if (filter.site !== undefined) return lex(KEY_SUFFIX.site + filter.site, '-', '+', false);
  if (filter.stage !== undefined) return lex(KEY_SUFFIX.stage + filter.stage, '-', '+', false);
  if (filter.state !== undefined) return stateDriver(filter.state, false);
  return lex(KEY_SUFFIX.names, '-', '+', true);
}

/** Every index the filter names (the name index drives a page sorted by name; these filter it in Redis). */
function indexesOf(filter: UserFilter): string[] {
  return [
    ...(filter.code !== undefined ? [KEY_SUFFIX.code + filter.code] : []),
    ...(filter.site !== undefined ? [KEY_SUFFIX.site + filter.site] : []),
    ...(filter.stage !== undefined ? [KEY_SUFFIX.stage + filter.stage] : []),
    ...(filter.state !== undefined ? [KEY_SUFFIX.state + filter.state] : []),
  ];
}

/** A lexicographic range from Node: `(last` resumes after the last member, upward or (reverse) downward. */
function lexDriver(
  redis: Redis,
  key: string,
  range: { min: string; max: string | Buffer; reverse: boolean },
  toKey: (member: string) => string,
): Driver {
  return {
    filtered: false,
    budget: SCAN_BUDGET,
    async fetch(after, count) {
      const resume = after ? `(${after.m}` : undefined;
      const args = range.reverse
        ? ['ZREVRANGEBYLEX', key, resume ?? range.max, range.min]
        : ['ZRANGEBYLEX', key, resume ?? range.min, range.max];
      const members = (await redis.call(args[0] as string, [...args.slice(1), 'LIMIT', 0, count])) as string[];
      return toBatch(
        members.map((member) => ({ member, userKey: toKey(member) })),
        count,
      );
    },
  };
}

/**
 * A lexicographic index walked in Redis, keeping only members present in every other index and, with a needle,
 * users that may contain it (see the script); a search reads up to SEARCH_BUDGET entries a page.
 */
function filteredLexDriver(
  scripts: StoreScripts,
  base: string,
  walk: {
    suffix: string;
    min: string;
    max: string | Buffer;
    named: boolean;
    others: readonly string[];
    reverse: boolean;
    needle: string;
  },
): Driver {
  const toEntry = (member: string): Entry => ({ member, userKey: walk.named ? parseNameMember(member) : member });
  const searching = walk.needle !== '';
  return {
    filtered: true,
    budget: searching ? SEARCH_BUDGET : SCAN_BUDGET,
    async fetch(after, count, budget) {
      const resume = after ? `(${after.m}` : undefined;
      const [from, to] = walk.reverse ? [resume ?? walk.max, walk.min] : [resume ?? walk.min, walk.max];
      const perCall = searching ? Math.min(budget, SEARCH_CALL_BUDGET) : budget;
      const flags = [walk.named ? '1' : '0', walk.reverse ? '1' : '0', walk.needle];
      const args = [walk.suffix, from, to, count, perCall, ...flags, ...walk.others];
      const [members, last, done, read] = (await scripts.run('frPageByLexFiltered', base, args)) as [
        string[],
        string,
        number,
        number,
      ];
      return { entries: members.map(toEntry), read, done: done === 1, ...(last !== '' && { last: toEntry(last) }) };
    },
  };
}

function toBatch(entries: Entry[], count: number): Batch {
  const last = entries.at(-1);
  return { entries, read: entries.length, done: entries.length < count, ...(last && { last }) };
}

/**
 * Ordered by (updatedAt, userKey), or the reverse; each page resumes exactly after the last entry seen (see
 * PAGE_BY_SCORE_LUA).
 */
function scoreDriver(scripts: StoreScripts, key: string, reverse: boolean): Driver {
  return {
    filtered: false,
    budget: SCAN_BUDGET,
    async fetch(after, count) {
      const args = [after?.s ?? 0, after?.m ?? '', count, reverse ? '1' : '0'];
      const reply = (await scripts.run('frPageByScore', key, args)) as unknown[];
      return toBatch(
        toScoredPairs(reply).map(([member, score]) => ({ member, userKey: member, score })),
        count,
      );
    },
  };
}

/** A search over a state index, in its order, filtered inside Redis (PAGE_BY_SCORE_SEARCH_LUA). */
function scoreSearchDriver(
  scripts: StoreScripts,
  base: string,
  suffix: string,
  walk: { reverse: boolean; needle: string },
): Driver {
  return {
    filtered: true,
    budget: SEARCH_BUDGET,
    async fetch(after, count, budget) {
      const perCall = Math.min(budget, SEARCH_CALL_BUDGET);
      const args = [suffix, after?.s ?? 0, after?.m ?? '', count, perCall, walk.reverse ? '1' : '0', walk.needle];
      const [pairs, last, lastScore, done, read] = (await scripts.run('frPageByScoreSearch', base, args)) as [
        string[],
        string,
        string,
        number,
        number,
      ];
      const entries: Entry[] = [];
      for (let i = 0; i + 1 < pairs.length; i += 2) {
        entries.push({ member: pairs[i] as string, userKey: pairs[i] as string, score: Number(pairs[i + 1]) });
      }
      const lastEntry = last !== '' ? { last: { member: last, userKey: last, score: Number(lastScore) } } : {};
      return { entries, read, done: done === 1, ...lastEntry };
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
