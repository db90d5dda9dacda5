import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignFileSchema } from '../../src/config/campaign-schema.js';
import { createRecordStore } from '../../src/store/record-store.js';
import type { RecordStore, UserFilter, UserRecord } from '../../src/store/types.js';
import { makeSpec } from '../helpers/pipeline-campaign.js';
import { connectTestRedis, createTestPrefix, deletePrefix } from '../helpers/redis.js';

const prefix = createTestPrefix('store-paging');
const USERS = 3_000;
const T0 = 1_800_000_000_000;
let redis: Redis;
let store: RecordStore;
let byName: Map<string, UserRecord>;

/** Walks every page of 50; returns the pages' usernames (and checks no page is larger than asked). */
async function collectPages(filter: UserFilter): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await store.queryUsers('paging', filter, { limit: 50, ...(cursor && { cursor }) });
    expect(page.users.length).toBeLessThanOrEqual(50);
    pages.push(page.users.map((user) => user.username));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return pages;
}

beforeAll(async () => {
  redis = connectTestRedis();
  store = createRecordStore(redis, prefix);
  await store.saveCampaign({
    name: 'paging',
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
  // Mixed-case names in shuffled order, three sites.
  const rows = Array.from({ length: USERS }, (_, i) => {
    const n = (i * 7919) % USERS;
    const username = `${n % 2 === 0 ? 'Alpha' : 'beta'}${String(n).padStart(4, '0')}`;
    return { line: i + 2, spec: makeSpec(n, `ws-${n}`, { username, site: `site${n % 3}` }), specHash: 'h' };
  });
  for (let i = 0; i < rows.length; i += 1_000) await store.upsertUsers('paging', rows.slice(i, i + 1_000), 1, T0);
  byName = new Map();
  for await (const batch of store.scanUsers('paging', {})) for (const user of batch) byName.set(user.username, user);
  // Every 10th user failed with one of two codes, at distinct times; every 4th applied at the same instant.
  let step = 0;
  for (const user of byName.values()) {
    const n = Number(user.username.slice(-4));
    if (n % 10 === 0) {
      const code = n % 20 === 0 ? 'FR_ERR_SSH_AUTH_FAILED' : 'FR_ERR_REMOTE_PERMISSION';
      const lastError = { failureClass: 'permanent' as const, code, message: 'no' };
      const failed = { intent: 'generate-failed' as const, run: 1, patch: { lastError } };
      expect(await store.transition('paging', user.userKey, failed, T0 + ++step)).toMatchObject({ result: 'moved' });
    } else if (n % 4 === 0) {
      for (const intent of ['generate-done', 'deploy-begin', 'deploy-succeeded'] as const) {
        expect(await store.transition('paging', user.userKey, { intent, run: 1 }, T0 + 5_000)).toMatchObject({
          result: 'moved',
        });
      }
    }
  }
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('paged queries over 3,000 users', () => {
  it('pages the whole campaign by name, case-insensitively sorted, each user exactly once', async () => {
    const pages = await collectPages({});
    expect(pages.slice(0, -1).every((page) => page.length === 50)).toBe(true);
    const names = pages.flat();
    expect(names).toHaveLength(USERS);
    expect(new Set(names).size).toBe(USERS);
    const sorted = [...names].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
    expect(names).toEqual(sorted);
  });

  it('pages by name prefix and returns the same pages when asked again', async () => {
    const first = await collectPages({ prefix: 'ALPHA1' });
    expect(first.flat()).toHaveLength(500);
    expect(first.flat().every((name) => name.startsWith('Alpha1'))).toBe(true);
    expect(await collectPages({ prefix: 'ALPHA1' })).toEqual(first);
  });

  it('pages by state, including many users that share the same updatedAt', async () => {
    const applied = (await collectPages({ state: 'applied' })).flat();
    const expected = [...byName.keys()].filter((name) => {
      const n = Number(name.slice(-4));
      return n % 10 !== 0 && n % 4 === 0;
    });
    expect(new Set(applied)).toEqual(new Set(expected));
    expect(applied).toHaveLength(expected.length);
    const failed = (await collectPages({ state: 'failed' })).flat();
    expect(failed).toHaveLength(300);
    // failed users come in the order they failed (updatedAt)
    expect(failed.slice(0, 3)).toEqual(
      [...byName.values()]
        .filter((u) => Number(u.username.slice(-4)) % 10 === 0)
        .slice(0, 3)
        .map((u) => u.username),
    );
  });

  it('resumes a state page after the last user seen left the state', async () => {
    const page1 = await store.queryUsers('paging', { state: 'queued' }, { limit: 50 });
    const last = page1.users.at(-1)!;
    // generate-done moves it out of `queued` (to `generated`)
    const left = await store.transition('paging', last.userKey, { intent: 'generate-done', run: 1 }, T0 + 9_000);
    expect(left).toMatchObject({ result: 'moved', state: 'generated' });
    const page2 = await store.queryUsers('paging', { state: 'queued' }, { limit: 50, cursor: page1.nextCursor! });
    const names1 = new Set(page1.users.map((u) => u.username));
    expect(page2.users).toHaveLength(50);
    expect(page2.users.some((u) => names1.has(u.username))).toBe(false);
    const all = (await collectPages({ state: 'queued' })).flat();
    expect(all.indexOf(page2.users[0]!.username)).toBe(49);
  });

  it('filters by site, by error code and by both with another filter', async () => {
    const site1 = (await collectPages({ site: 'site1' })).flat();
    expect(site1).toHaveLength(1_000);
    const auth = (await collectPages({ code: 'FR_ERR_SSH_AUTH_FAILED' })).flat();
    expect(auth).toHaveLength(150);
    const authSite2 = (await collectPages({ code: 'FR_ERR_SSH_AUTH_FAILED', site: 'site2' })).flat();
    expect(authSite2).toEqual(auth.filter((name) => byName.get(name)?.site === 'site2'));
  });

  it('finds a substring anywhere in the name with a bounded scan', async () => {
    const found = (await collectPages({ search: 'A00' })).flat();
    const expected = [...byName.keys()].filter((name) => name.toLowerCase().includes('a00')).sort();
    expect([...found].sort()).toEqual(expected);
    const failedA = (await collectPages({ search: 'a0', state: 'failed' })).flat();
    const expectedFailedA = [...byName.values()]
      .filter((u) => u.username.toLowerCase().includes('a0') && Number(u.username.slice(-4)) % 10 === 0)
      .map((u) => u.username);
    expect(failedA).toEqual(expectedFailedA);
    expect(failedA.length).toBeGreaterThan(50);
    const one = await store.queryUsers('paging', { user: 'BETA0001' }, { limit: 50 });
    expect(one.users.map((u) => u.username)).toEqual(['beta0001']);
  });
});
