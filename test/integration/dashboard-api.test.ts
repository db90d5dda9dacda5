import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserRecord } from '../../src/store/types.js';
import { type DashboardHarness, type Session, startDashboard } from '../helpers/dashboard-client.js';
import { CSV_HEADER, createFleetFixture, csvRow, type FleetFixture } from '../helpers/fleet-fixture.js';
import { writeFault } from '../helpers/pipeline-campaign.js';

/**
 * The JSON API over a real campaign: uploaded through the dashboard, run by real in-process agents on the local
 * transport, failures made with the stand-in's fault switches (exit 69: Outlook unavailable, exit 77: permission).
 */
let fixture: FleetFixture;
let dashboard: DashboardHarness;
let admin: Session;
const C = 'dash';
const UNAVAILABLE = 'FR_ERR_REMOTE_UNAVAILABLE';
const PERMISSION = 'FR_ERR_REMOTE_PERMISSION';

interface Planned {
  readonly name: string;
  readonly site: string;
  readonly fault?: string;
}

// 30 users: lyon 0-5 unavailable, lyon 6-8 permission, paris 10-12 unavailable, the rest fine.
const PLAN: Planned[] = Array.from({ length: 30 }, (_, i) => {
  const name = `u${String(i).padStart(2, '0')}`;
  const site = i < 10 || i >= 20 ? 'lyon' : 'paris';
  const fault = i < 6 ? 'exit=69' : i < 9 ? 'exit=77' : i >= 10 && i < 13 ? 'exit=69' : undefined;
  return { name, site, ...(fault !== undefined && { fault }) };
});
const host = (name: string): string => `ws-${name}`;

function csv(rows: readonly string[], header = `${CSV_HEADER},display_name`): string {
  return `${header}\n${rows.join('\n')}\n`;
}

async function allUsers(): Promise<UserRecord[]> {
  const users: UserRecord[] = [];
  for await (const batch of fixture.fleet.internals.store.scanUsers(C, {}, 100)) users.push(...batch);
  return users;
}

/** Every username the users API answers for a query, page by page (`limit` a page), checking no page repeats one. */
async function pageThrough(query: string, limit: number): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages += 1) {
    const path = `/api/campaigns/${C}/users?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const reply = await dashboard.request('GET', path, { session: admin });
    expect(reply.status, path).toBe(200);
    expect(reply.json.users.length).toBeLessThanOrEqual(limit);
    names.push(...reply.json.users.map((user: UserRecord) => user.username));
    cursor = reply.json.nextCursor;
    if (cursor === undefined) return names;
  }
  throw new Error('paging never ended');
}

beforeAll(async () => {
  fixture = await createFleetFixture('dash-api');
  for (const user of PLAN) if (user.fault) writeFault(fixture.root, host(user.name), [user.fault]);
  dashboard = await startDashboard(fixture.fleet);
  admin = await dashboard.login();
  await fixture.startAgent();
  const body = csv(PLAN.map((u, i) => `${csvRow(u.name, host(u.name), u.site)},${i === 20 ? '=1+1' : `User ${i}`}`));
  const upload = await dashboard.request('POST', `/api/campaigns?name=${C}&start=true&file=fleet.csv`, {
    session: admin,
    raw: { type: 'text/csv', data: body },
  });
  expect(upload.status, upload.text).toBe(201);
  expect(upload.json).toMatchObject({ valid: 30, rejected: 0, queued: 30, imported: true });
  await fixture.waitForFinal(C, PLAN.length);
}, 90_000);

afterAll(async () => {
  await dashboard?.close();
  await fixture?.close();
});

describe('dashboard API', () => {
  it('lists campaigns and answers a status, and the error table’s status and code for a missing one', async () => {
    const list = await dashboard.request('GET', '/api/campaigns', { session: admin });
    expect(list.json.campaigns.map((c: { campaign: { name: string } }) => c.campaign.name)).toEqual([C]);
    const status = await dashboard.request('GET', `/api/campaigns/${C}`, { session: admin });
    expect(status.json.counts).toEqual(await fixture.fleet.internals.store.recount(C));
    expect(status.json.counts.failed).toBe(12);
    const missing = await dashboard.request('GET', '/api/campaigns/nope', { session: admin });
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('FR_ERR_CAMPAIGN_NOT_FOUND');
    const bad = await dashboard.request('GET', `/api/campaigns/${C}/users?state=bogus`, { session: admin });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('FR_ERR_USAGE');
  });

  it('pages users by every filter exactly as a full scan of the records finds them', async () => {
    const users = await allUsers();
    const recount = await fixture.fleet.internals.store.recount(C);
    for (const [state, count] of Object.entries(recount)) {
      expect((await pageThrough(`&state=${state}`, 7)).length, state).toBe(count);
    }
    const codeOf = (u: UserRecord, code: string) => u.lastError?.code === code || u.lastError?.cause === code;
    const cases: Array<[string, (u: UserRecord) => boolean]> = [
      ['', () => true],
      ['&state=failed', (u) => u.state === 'failed'],
      ['&site=lyon', (u) => u.site === 'lyon'],
      [`&code=${UNAVAILABLE}`, (u) => codeOf(u, UNAVAILABLE)],
      [
        `&state=failed&site=lyon&code=${UNAVAILABLE}`,
        (u) => u.state === 'failed' && u.site === 'lyon' && codeOf(u, UNAVAILABLE),
      ],
      ['&state=applied&site=paris', (u) => u.state === 'applied' && u.site === 'paris'],
      ['&q=U1', (u) => u.username.includes('u1')],
      ['&stage=apply&state=failed', (u) => u.stage === 'apply' && u.state === 'failed'],
    ];
    for (const [query, matches] of cases) {
      const expected = users
        .filter(matches)
        .map((u) => u.username)
        .sort();
      expect(expected.length, query).toBeGreaterThan(0);
      for (const limit of [1, 4, 50]) {
        const names = await pageThrough(query, limit);
        expect(new Set(names).size, `${query} limit ${limit}: a user twice`).toBe(names.length);
        expect([...names].sort(), `${query} limit ${limit}`).toEqual(expected);
      }
    }
    expect(await pageThrough('&stage=rollback', 10)).toEqual([]);
  });

  it('answers one user with its attempts', async () => {
    const reply = await dashboard.request('GET', `/api/campaigns/${C}/users/u00`, { session: admin });
    expect(reply.status).toBe(200);
    expect(reply.json.user).toMatchObject({ username: 'u00', state: 'failed', lastError: { code: UNAVAILABLE } });
    expect(reply.json.attempts.length).toBeGreaterThan(0);
    const none = await dashboard.request('GET', `/api/campaigns/${C}/users/nobody`, { session: admin });
    expect(none.status).toBe(404);
    expect(none.json.error.code).toBe('FR_ERR_USER_NOT_FOUND');
  });

  it('exports the filtered table as formula-safe CSV and as JSON', async () => {
    const all = await dashboard.request('GET', `/api/campaigns/${C}/export?format=csv`, { session: admin });
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toContain('text/csv');
    expect(all.headers.get('content-disposition')).toContain('attachment');
    const line = all.text.split('\r\n').find((l) => l.startsWith('u20,'));
    expect(line).toContain(",'=1+1,");
    expect(all.text).not.toMatch(/(^|,)=1\+1/m);
    const failed = await dashboard.request('GET', `/api/campaigns/${C}/export?format=json&state=failed&site=paris`, {
      session: admin,
    });
    expect(failed.status).toBe(200);
    const rows = JSON.parse(failed.text) as Array<{ username: string; state: string }>;
    expect(rows.map((r) => r.username).sort()).toEqual(['u10', 'u11', 'u12']);
  });

  it('retries exactly the failed users of one cause and site, confirmed by a dry-run count, live on the event stream', async () => {
    const selection = { filter: { state: 'failed', code: UNAVAILABLE, site: 'lyon' } };
    const dry = await dashboard.request('POST', `/api/campaigns/${C}/retry`, {
      session: admin,
      body: { ...selection, dryRun: true },
    });
    expect(dry.status, dry.text).toBe(200);
    expect(dry.json).toEqual({ dryRun: true, users: 6 });
    expect((await fixture.fleet.internals.store.countByState(C)).failed).toBe(12); // a dry run moves nobody
    const bad = await dashboard.request('POST', `/api/campaigns/${C}/retry`, {
      session: admin,
      body: { filter: { site: 'lyon' } },
    });
    expect(bad.status).toBe(400);

    for (let i = 0; i < 6; i += 1) rmSync(join(fixture.root, host(PLAN[i]?.name ?? ''), 'fault'));
    const stop = new AbortController();
    const live = await fetch(`${dashboard.base}/api/campaigns/${C}/events`, {
      headers: { cookie: admin.cookie },
      signal: stop.signal,
    });
    expect(live.headers.get('content-type')).toContain('text/event-stream');
    const reader = live.body?.getReader();
    const seen = (async () => {
      let text = '';
      while (reader && !text.includes('"to":"applied"')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      return text;
    })();
    const retried = await dashboard.request('POST', `/api/campaigns/${C}/retry`, { session: admin, body: selection });
    expect(retried.status, retried.text).toBe(200);
    expect(retried.json).toMatchObject({ moved: 6, refused: {} });
    expect(await seen).toContain('event: user-state-changed');
    stop.abort();

    await fixture.waitFor(C, (counts) => counts.applied === 24);
    const byName = new Map((await allUsers()).map((u) => [u.username, u]));
    for (const [i, user] of PLAN.entries()) {
      const expected = i < 6 || !user.fault ? 'applied' : 'failed';
      expect(byName.get(user.name)?.state, user.name).toBe(expected);
    }
    expect(['u06', 'u07', 'u08'].map((name) => byName.get(name)?.lastError?.code)).toEqual([
      PERMISSION,
      PERMISSION,
      PERMISSION,
    ]);
  });

  it('retries one user and a list, and refuses a list with an unknown user before moving anyone', async () => {
    writeFault(fixture.root, host('u06'), []);
    const one = await dashboard.request('POST', `/api/campaigns/${C}/retry`, { session: admin, body: { user: 'u06' } });
    expect(one.json).toMatchObject({ moved: 1 });
    const typo = await dashboard.request('POST', `/api/campaigns/${C}/retry`, {
      session: admin,
      body: { users: ['u07', 'nobody'] },
    });
    expect(typo.status).toBe(404);
    expect((await fixture.fleet.user(C, 'u07')).user.state).toBe('failed');
    const list = await dashboard.request('POST', `/api/campaigns/${C}/retry`, {
      session: admin,
      body: { users: ['u07', 'u08'], dryRun: true },
    });
    expect(list.json).toEqual({ dryRun: true, users: 2 });
    await fixture.waitFor(C, (counts) => counts.applied === 25);
  });

  it('answers every rejected row of an upload with its line and reason, and queues nothing', async () => {
    const body = csv([csvRow('ok1', 'ws-ok1'), csvRow('bad1', 'ws bad host'), csvRow('ok2', 'ws-ok2')], CSV_HEADER);
    const reply = await dashboard.request('POST', '/api/campaigns?name=rejected', {
      session: admin,
      raw: { type: 'text/csv', data: body },
    });
    expect(reply.status, reply.text).toBe(422);
    expect(reply.json.error.code).toBe('FR_ERR_DASHBOARD_ROWS_REJECTED');
    expect(reply.json.rejected).toBe(1);
    expect(reply.json.rejections).toEqual([
      expect.objectContaining({ line: 3, column: 'host', reason: expect.any(String) }),
    ]);
    expect(reply.json.rejections[0].reason.length).toBeGreaterThan(5);
    const missing = await dashboard.request('GET', '/api/campaigns/rejected', { session: admin });
    expect(missing.status).toBe(404);
    const empty = await dashboard.request('POST', '/api/campaigns?name=empty2', {
      session: admin,
      raw: { type: 'text/csv', data: '' },
    });
    expect(empty.status).toBe(400);
  });

  it('pauses, resumes and cancels through the facade, answering the table’s status for a refused move', async () => {
    const pauseDone = await dashboard.request('POST', `/api/campaigns/${C}/pause`, { session: admin });
    expect(pauseDone.status).toBe(409);
    expect(pauseDone.json.error.code).toBe('FR_ERR_CAMPAIGN_STATE');
    const cancel = await dashboard.request('POST', `/api/campaigns/${C}/cancel`, { session: admin });
    expect(cancel.status).toBe(200);
    expect((await fixture.fleet.campaign(C)).state).toBe('cancelled');
  });

  it('lists every action in the audit trail with who, what, the filter and how many users', async () => {
    const reply = await dashboard.request('GET', '/api/audit?limit=100', { session: admin });
    expect(reply.status).toBe(200);
    const entries = reply.json.entries as Array<Record<string, unknown>>;
    const summary = entries.map((e) => [e['who'], e['action'], e['campaign'], e['users']]);
    expect(summary).toEqual([
      ['admin', 'cancel', C, undefined],
      ['admin', 'retry', C, 1],
      ['admin', 'retry', C, 6],
      ['admin', 'import', C, 30],
    ]);
    expect(entries[2]).toMatchObject({ filter: { state: 'failed', code: UNAVAILABLE, site: 'lyon' } });
    expect(typeof entries[0]?.['at']).toBe('number');
    const page = await dashboard.request('GET', '/api/audit?limit=3', { session: admin });
    expect(page.json.entries).toHaveLength(3);
    const rest = await dashboard.request('GET', `/api/audit?limit=3&cursor=${page.json.nextCursor}`, {
      session: admin,
    });
    expect(rest.json.entries.map((e: { action: string }) => e.action)).toEqual(['import']);
    expect(rest.json.nextCursor).toBeUndefined();
  });
});
