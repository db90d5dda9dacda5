import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignFileSchema } from '../../src/config/campaign-schema.js';
import { createRecordStore } from '../../src/store/record-store.js';
import type { RecordStore, UserFilter, UserRecord, UserSort } from '../../src/store/types.js';
import { makeSpec } from '../helpers/pipeline-campaign.js';
import { connectTestRedis, createTestPrefix, deletePrefix } from '../helpers/redis.js';

/**
 * The substring search filtered inside Redis (name, host, e-mail) and the index-served sorts, on 2,000 users:
 * every page walked to the end gives exactly what a full scan of the records finds, in the order asked.
 */
const prefix = createTestPrefix('store-search-sort');
const C = 'search';
const USERS = 2_000;
const T0 = 1_800_000_000_000;
let redis: Redis;
let store: RecordStore;
let all: UserRecord[];

function email(n: number): string {
  if (n % 97 === 0) return `Émile.${n}@Société.example`; // non-ASCII: upper/lower case beyond ASCII
  if (n % 89 === 0) return `"odd\\${n}"@Corp.Example.com`; // a quote and a backslash (escaped in the spec JSON)
  return `${n % 5 === 0 ? 'Rare' : 'mail'}${n}@${n % 2 === 0 ? 'Corp' : 'lab'}.example.com`;
}

async function collect(filter: UserFilter, sort?: UserSort, limit = 50): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.queryUsers(C, filter, { limit, ...(cursor && { cursor }), ...(sort && { sort }) });
    expect(page.users.length).toBeLessThanOrEqual(limit);
    names.push(...page.users.map((user) => user.username));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return names;
}

/** What a full scan finds: the same rule as the store's, written out again. */
function scan(needle: string, also: (user: UserRecord) => boolean = () => true): string[] {
  const lower = needle.normalize('NFC').toLowerCase();
  return all
    .filter(
      (u) =>
        also(u) &&
        [u.username.normalize('NFC'), u.spec.email ?? '', u.host ?? ''].some((field) =>
          field.toLowerCase().includes(lower),
        ),
    )
    .map((u) => u.username)
    .sort();
}

beforeAll(async () => {
  redis = connectTestRedis();
  store = createRecordStore(redis, prefix);
  await store.saveCampaign({
    name: C,
    state: 'running',
    stateReason: 'test',
    csvFile: 'users.csv',
    csvSha256: 'x',
    settings: campaignFileSchema.parse({}),
    imports: 1,
    totalUsers: USERS,
    rejectedRows: 0,
    createdAt: T0,
    updatedAt: T0,
  });
  const rows = Array.from({ length: USERS }, (_, i) => {
    const n = (i * 7919) % USERS;
    const username = `${n % 3 === 0 ? 'Zed' : 'amy'}${String(n).padStart(4, '0')}`;
    const host = n % 7 === 0 ? `WS-PARIS-${n}` : `ws-lyon-${n}`;
    const spec = makeSpec(n, host, { username, site: `site${n % 2}`, email: email(n) });
    return { line: i + 2, spec, specHash: 'h' };
  });
  await store.upsertUsers(C, rows, 1, T0);
  all = [];
  for await (const batch of store.scanUsers(C, {})) all.push(...batch);
  // Every 4th user fails, at times that repeat (ties on the state index's score).
  for (const user of all) {
    const n = Number(user.username.slice(-4));
    if (n % 4 !== 0) continue;
    const lastError = { failureClass: 'permanent' as const, code: 'FR_ERR_REMOTE_PERMISSION', message: 'no' };
    const moved = await store.transition(
      C,
      user.userKey,
      { intent: 'generate-failed', run: 1, patch: { lastError } },
      T0 + (n % 37),
    );
    expect(moved).toMatchObject({ result: 'moved' });
  }
  all = [];
  for await (const batch of store.scanUsers(C, {})) all.push(...batch);
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('search inside Redis', () => {
  it('finds e-mail, host and name substrings exactly as a full scan, in any case, across pages', async () => {
    for (const needle of ['corp.EXAMPLE', 'rare1', 'ws-paris', 'ZED00', '@lab', 'zzz-none']) {
      expect((await collect({ search: needle })).sort(), needle).toEqual(scan(needle));
    }
    expect(scan('corp.example').length).toBeGreaterThan(500);
    expect(scan('ws-paris').length).toBeGreaterThan(200);
  });

  it('keeps non-ASCII and escaped e-mail addresses exact (Node decides what Lua cannot lower)', async () => {
    for (const needle of ['émile', 'SOCIÉTÉ', 'é', '"odd\\', 'odd\\1']) {
      const found = (await collect({ search: needle })).sort();
      expect(found, needle).toEqual(scan(needle));
      expect(found.length, needle).toBeGreaterThan(0);
    }
  });

  it('combines a search with a site, a state or an error code', async () => {
    expect((await collect({ search: 'corp', site: 'site1' })).sort()).toEqual(scan('corp', (u) => u.site === 'site1'));
    expect((await collect({ search: 'ZED', state: 'failed' })).sort()).toEqual(
      scan('zed', (u) => u.state === 'failed'),
    );
    expect((await collect({ search: 'corp.ex', state: 'queued' }, undefined, 7)).sort()).toEqual(
      scan('corp.ex', (u) => u.state === 'queued'),
    );
    expect((await collect({ search: 'émile', state: 'failed' })).sort()).toEqual(
      scan('émile', (u) => u.state === 'failed'),
    );
    const code = 'FR_ERR_REMOTE_PERMISSION';
    expect((await collect({ search: 'paris', code })).sort()).toEqual(scan('paris', (u) => u.lastError?.code === code));
  });

  it('continues a rare match with a cursor when a page runs out of budget, and finds every one', async () => {
    expect(await collect({ search: 'amy0001@' }, undefined, 5)).toEqual([]);
    expect((await collect({ search: 'mail1999' }, undefined, 5)).sort()).toEqual(scan('mail1999'));
  });
});

describe('sorts served by the indexes', () => {
  const byName = (a: string, b: string) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1);

  it('sorts by username ascending and descending, across pages, with or without filters', async () => {
    const asc = await collect({}, 'name', 70);
    expect(asc).toEqual(all.map((u) => u.username).sort(byName));
    expect(await collect({}, '-name', 70)).toEqual([...asc].reverse());
    const failedSite0 = all.filter((u) => u.state === 'failed' && u.site === 'site0').map((u) => u.username);
    expect(await collect({ state: 'failed', site: 'site0' }, '-name', 30)).toEqual(failedSite0.sort(byName).reverse());
    expect(await collect({ prefix: 'zed1' }, '-name', 30)).toEqual(
      asc.filter((name) => name.startsWith('Zed1')).reverse(),
    );
    expect(await collect({ search: 'corp' }, '-name', 30)).toEqual(scan('corp').sort(byName).reverse());
  });

  it('sorts by last change ascending and descending within a state, ties included, across pages', async () => {
    const failed = all.filter((u) => u.state === 'failed');
    const key = (u: UserRecord) => [u.updatedAt, u.userKey] as const;
    const ordered = [...failed].sort((a, b) => {
      const [ta, ka] = key(a);
      const [tb, kb] = key(b);
      return ta - tb || (ka < kb ? -1 : 1);
    });
    expect(await collect({ state: 'failed' }, 'updated', 40)).toEqual(ordered.map((u) => u.username));
    expect(await collect({ state: 'failed' }, '-updated', 40)).toEqual(ordered.map((u) => u.username).reverse());
    const site1 = ordered.filter((u) => u.site === 'site1').map((u) => u.username);
    expect(await collect({ state: 'failed', site: 'site1' }, '-updated', 40)).toEqual(site1.reverse());
    const paris = ordered.filter((u) => (u.host ?? '').toLowerCase().includes('paris')).map((u) => u.username);
    expect(paris.length).toBeGreaterThan(10);
    expect(await collect({ state: 'failed', search: 'PARIS' }, 'updated', 4)).toEqual(paris);
    expect(await collect({ state: 'failed', search: 'PARIS' }, '-updated', 4)).toEqual([...paris].reverse());
  });

  it('resumes a descending page after the last user seen left the state', async () => {
    const page1 = await store.queryUsers(C, { state: 'failed' }, { limit: 20, sort: '-updated' });
    const rest = (await collect({ state: 'failed' }, '-updated', 500)).slice(20);
    const last = page1.users.at(-1)!;
    const retry = { intent: 'retry' as const, run: last.run };
    expect(await store.transition(C, last.userKey, retry, T0 + 100_000)).toMatchObject({ result: 'moved' });
    const page2 = await store.queryUsers(
      C,
      { state: 'failed' },
      { limit: 20, sort: '-updated', cursor: page1.nextCursor! },
    );
    expect(page2.users.map((u) => u.username)).toEqual(rest.slice(0, 20));
  });

  it('refuses a sort by last change without a state filter', async () => {
    await expect(store.queryUsers(C, {}, { limit: 10, sort: 'updated' })).rejects.toMatchObject({
      code: 'FR_ERR_USAGE',
    });
  });
});
