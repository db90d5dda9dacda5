import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserRecord } from '../../src/store/types.js';
import { type DashboardHarness, READONLY_TOKEN, type Session, startDashboard } from '../helpers/dashboard-client.js';
import { createFleetFixture, type FleetFixture } from '../helpers/fleet-fixture.js';
import { writeFault } from '../helpers/pipeline-campaign.js';

/**
 * The routes the pages add (charts, match count, PRF, halt, campaign file, stage and e-mail/host search), over a
 * real campaign run by in-process agents on the local transport: refused without a session, refused to the
 * read-only token and without CSRF when they act, and answering exactly what a full scan of the records finds.
 */
let fixture: FleetFixture;
let dashboard: DashboardHarness;
let admin: Session;
let reader: Session;
const C = 'pages';
const UNAVAILABLE = 'FR_ERR_REMOTE_UNAVAILABLE';
const PERMISSION = 'FR_ERR_REMOTE_PERMISSION';

// 12 users: lyon u00-u05, paris u06-u11; u00-u02 and u06 unavailable (exit 69), u03 permission (exit 77).
const PLAN = Array.from({ length: 12 }, (_, i) => {
  const name = `u${String(i).padStart(2, '0')}`;
  const fault = [0, 1, 2, 6].includes(i) ? 'exit=69' : i === 3 ? 'exit=77' : undefined;
  return {
    name,
    site: i < 6 ? 'lyon' : 'paris',
    host: `ws-${name}`,
    email: i === 5 ? 'special@other.example' : `${name}@corp.example.com`,
    fault,
  };
});

const CAMPAIGN_FILE = [
  'defaults:',
  '  exchange_server: exch01.corp.example.com',
  '  proxy: https://mail.example.com',
  'retry:',
  '  max_attempts: 4',
  '  base_delay_seconds: 0.1',
  '  max_delay_seconds: 0.3',
  '  jitter: 0',
  '  horizon_hours: 1',
  '',
].join('\n');

async function allUsers(): Promise<UserRecord[]> {
  const users: UserRecord[] = [];
  for await (const batch of fixture.fleet.internals.store.scanUsers(C, {}, 100)) users.push(...batch);
  return users;
}

async function pageThrough(query: string, limit: number): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages += 1) {
    const path = `/api/campaigns/${C}/users?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const reply = await dashboard.request('GET', path, { session: admin });
    expect(reply.status, `${path}: ${reply.text}`).toBe(200);
    names.push(...reply.json.users.map((user: UserRecord) => user.username));
    cursor = reply.json.nextCursor;
    if (cursor === undefined) return names;
  }
  throw new Error('paging never ended');
}

beforeAll(async () => {
  fixture = await createFleetFixture('dash-pages');
  for (const user of PLAN) if (user.fault) writeFault(fixture.root, user.host, [user.fault]);
  dashboard = await startDashboard(fixture.fleet);
  admin = await dashboard.login();
  reader = await dashboard.login(READONLY_TOKEN);
  await fixture.startAgent();
  const checked = await dashboard.request('POST', '/api/campaign-files?file=pages.yaml', {
    session: admin,
    raw: { type: 'application/yaml', data: CAMPAIGN_FILE },
  });
  expect(checked.status, checked.text).toBe(200);
  const csv = `username,email,host,site,office\n${PLAN.map((u) => `${u.name},${u.email},${u.host},${u.site},2010`).join('\n')}\n`;
  const upload = await dashboard.request(
    'POST',
    `/api/campaigns?name=${C}&start=true&file=pages.csv&settings=${checked.json.id}`,
    { session: admin, raw: { type: 'text/csv', data: csv } },
  );
  expect(upload.status, upload.text).toBe(201);
  await fixture.waitForFinal(C, PLAN.length);
  // One applied user rolled back: the only user whose stage is `rollback`.
  const rolled = await dashboard.request('POST', `/api/campaigns/${C}/rollback`, {
    session: admin,
    body: { user: 'u07' },
  });
  expect(rolled.json).toMatchObject({ moved: 1 });
  await fixture.waitFor(C, (counts) => counts['rolled-back'] === 1);
}, 90_000);

afterAll(async () => {
  await dashboard?.close();
  await fixture?.close();
});

describe('dashboard page routes', () => {
  it('imports with the campaign file checked first, which is one use and answers its problems by line', async () => {
    expect((await fixture.fleet.campaign(C)).settings.retry.max_attempts).toBe(4);
    const bad = await dashboard.request('POST', '/api/campaign-files?file=bad.yaml', {
      session: admin,
      raw: { type: 'application/yaml', data: 'retry:\n  max_attempts: many\n' },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/line 2: retry\.max_attempts/);
    const again = await dashboard.request('POST', `/api/campaigns?name=other&settings=${'x'.repeat(22)}`, {
      session: admin,
      raw: { type: 'text/csv', data: 'username\nz1\n' },
    });
    expect(again.status).toBe(400);
    expect(again.json.error.message).toContain('unknown or expired campaign file');
  });

  it('refuses every new route without a session, and its acting ones to the read-only token and without CSRF', async () => {
    const reads = [
      `/api/campaigns/${C}/insights`,
      `/api/campaigns/${C}/schedule`,
      '/api/agents',
      `/api/campaigns/${C}/count?state=failed`,
      `/api/campaigns/${C}/users/u04/prf`,
      `/api/campaigns/${C}/users/u04/prf/download`,
    ];
    for (const path of reads) {
      expect((await dashboard.request('GET', path)).status, path).toBe(401);
      expect((await dashboard.request('GET', path, { session: reader })).status, path).toBe(200);
    }
    const acts: Array<[string, { body?: unknown; raw?: { type: string; data: string } }]> = [
      [`/api/campaigns/${C}/halt`, { body: { reason: 'look' } }],
      ['/api/campaign-files', { raw: { type: 'application/yaml', data: CAMPAIGN_FILE } }],
    ];
    for (const [path, body] of acts) {
      expect((await dashboard.request('POST', path, body)).status, path).toBe(401);
      const readOnly = await dashboard.request('POST', path, { ...body, session: reader });
      expect([readOnly.status, readOnly.json.error.code], path).toEqual([403, 'FR_ERR_DASHBOARD_FORBIDDEN']);
      const noCsrf = await dashboard.request('POST', path, { ...body, session: admin, csrf: null });
      expect([noCsrf.status, noCsrf.json.error.code], path).toEqual([403, 'FR_ERR_DASHBOARD_CSRF']);
      const foreign = await dashboard.request('POST', path, { ...body, session: admin, origin: 'http://evil.example' });
      expect(foreign.status, path).toBe(403);
    }
    expect((await fixture.fleet.campaign(C)).state).not.toBe('halted');
  });

  it('filters by stage (its own index) and searches username, e-mail and host exactly as a full scan finds them', async () => {
    const users = await allUsers();
    const codeOf = (u: UserRecord, code: string) => u.lastError?.code === code || u.lastError?.cause === code;
    const cases: Array<[string, (u: UserRecord) => boolean]> = [
      ['&stage=rollback', (u) => u.stage === 'rollback'],
      ['&stage=apply', (u) => u.stage === 'apply'],
      ['&stage=apply&site=lyon&state=failed', (u) => u.stage === 'apply' && u.site === 'lyon' && u.state === 'failed'],
      [`&stage=apply&code=${UNAVAILABLE}`, (u) => u.stage === 'apply' && codeOf(u, UNAVAILABLE)],
      ['&q=other.example', (u) => u.spec.email === 'special@other.example'],
      ['&q=WS-U1', (u) => (u.host ?? '').startsWith('ws-u1')],
      ['&q=corp.example&site=paris', (u) => u.site === 'paris' && (u.spec.email ?? '').includes('corp.example')],
    ];
    for (const [query, matches] of cases) {
      const expected = users
        .filter(matches)
        .map((u) => u.username)
        .sort();
      expect(expected.length, query).toBeGreaterThan(0);
      for (const limit of [1, 3, 50]) {
        const names = await pageThrough(query, limit);
        expect(new Set(names).size, `${query} limit ${limit}: a user twice`).toBe(names.length);
        expect([...names].sort(), `${query} limit ${limit}`).toEqual(expected);
      }
      const count = await dashboard.request('GET', `/api/campaigns/${C}/count?${query.slice(1)}`, { session: admin });
      expect(count.json, query).toEqual({ users: expected.length });
    }
    expect(await pageThrough('&stage=rollback', 5)).toEqual(['u07']);
    const total = await dashboard.request('GET', `/api/campaigns/${C}/count`, { session: admin });
    expect(total.json).toEqual({ users: users.length });
    // The count the confirm dialog shows equals the recount, state by state (from the counters).
    const recount = await fixture.fleet.recount(C);
    for (const [state, users] of Object.entries(recount)) {
      const count = await dashboard.request('GET', `/api/campaigns/${C}/count?state=${state}`, { session: admin });
      expect(count.json, state).toEqual({ users });
    }
  });

  it('retries all matching a stage filter, and the dry run counts exactly those users', async () => {
    const filter = { state: 'failed', stage: 'apply', code: PERMISSION };
    const dry = await dashboard.request('POST', `/api/campaigns/${C}/retry`, {
      session: admin,
      body: { filter, dryRun: true },
    });
    expect(dry.json).toEqual({ dryRun: true, users: 1 });
    const none = await dashboard.request('POST', `/api/campaigns/${C}/retry`, {
      session: admin,
      body: { filter: { ...filter, stage: 'rollback' }, dryRun: true },
    });
    expect(none.json).toEqual({ dryRun: true, users: 0 });
  });

  it('charts throughput per minute and failures by code, site and host as the records say', async () => {
    const reply = await dashboard.request('GET', `/api/campaigns/${C}/insights?minutes=30`, { session: admin });
    expect(reply.status).toBe(200);
    const { perMinute, failures } = reply.json;
    expect(perMinute).toHaveLength(30);
    const finished = perMinute.reduce((sum: number, [, count]: [number, number]) => sum + count, 0);
    expect(finished).toBeGreaterThanOrEqual(PLAN.length);
    const failed = (await allUsers()).filter((u) => ['failed', 'rollback-failed', 'retrying'].includes(u.state));
    const tally = (key: (u: UserRecord) => string) => {
      const counts = new Map<string, number>();
      for (const u of failed) counts.set(key(u), (counts.get(key(u)) ?? 0) + 1);
      return [...counts]
        .map(([k, users]) => ({ key: k, users }))
        .sort((a, b) => b.users - a.users || a.key.localeCompare(b.key));
    };
    expect(failures.users).toBe(failed.length);
    expect(failures.byCode).toEqual(tally((u) => u.lastError?.cause ?? u.lastError?.code ?? 'unknown'));
    expect(failures.bySite).toEqual(tally((u) => u.site ?? ''));
    expect(failures.byHost).toEqual(tally((u) => u.host ?? ''));
    expect(failures.byCode).toEqual([
      { key: UNAVAILABLE, users: 4 },
      { key: PERMISSION, users: 1 },
    ]);
  });

  it('lists the agents alive from their heartbeats, and those serving a campaign', async () => {
    const agents = async (query = '') =>
      (await dashboard.request('GET', `/api/agents${query}`, { session: admin })).json.agents as Array<{
        campaigns: string[];
        roles: string[];
      }>;
    await expect.poll(async () => (await agents()).length, { timeout: 20_000 }).toBe(1);
    expect((await agents())[0]).toMatchObject({ roles: ['generate', 'deploy'], transports: ['local', 'ssh'] });
    // A finished campaign is served by nobody once the agent closed its workers.
    await expect.poll(async () => (await agents(`?campaign=${C}`)).length, { timeout: 20_000 }).toBe(0);
    expect(await agents('?campaign=nope')).toEqual([]);
  });

  it('shows and downloads the PRF the generate step rendered (same checksum)', async () => {
    const { user } = await fixture.fleet.user(C, 'u04');
    const view = await dashboard.request('GET', `/api/campaigns/${C}/users/u04/prf`, { session: admin });
    expect(view.status).toBe(200);
    expect(view.json).toMatchObject({ fileName: 'u04.prf', sha256: user.checksum, recordedSha256: user.checksum });
    expect(view.json.text).toContain('[General]');
    const file = await fetch(`${dashboard.base}/api/campaigns/${C}/users/u04/prf/download`, {
      headers: { cookie: admin.cookie },
    });
    expect(file.headers.get('content-disposition')).toBe('attachment; filename="u04.prf"');
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(user.checksum);
    const missing = await dashboard.request('GET', `/api/campaigns/${C}/users/nobody/prf`, { session: admin });
    expect(missing.status).toBe(404);
  });

  it('halts with a reason shown on the page, audited with who', async () => {
    // A retried user whose step takes a few seconds keeps the campaign running meanwhile.
    writeFault(fixture.root, 'ws-u03', ['sleep=3', 'exit=77']);
    const retried = await dashboard.request('POST', `/api/campaigns/${C}/retry`, {
      session: admin,
      body: { user: 'u03' },
    });
    expect(retried.json).toMatchObject({ moved: 1, campaignState: 'running' });
    const halted = await dashboard.request('POST', `/api/campaigns/${C}/halt`, {
      session: admin,
      body: { reason: 'too many unavailable' },
    });
    expect(halted.status, halted.text).toBe(200);
    expect(halted.json.campaign.state).toBe('halted');
    const insights = await dashboard.request('GET', `/api/campaigns/${C}/insights`, { session: admin });
    expect(insights.json.haltReason).toBe('too many unavailable (halted by admin)');
    const audit = await dashboard.request('GET', '/api/audit?limit=1', { session: admin });
    expect(audit.json.entries[0]).toMatchObject({
      who: 'admin',
      action: 'halt',
      campaign: C,
      filter: { reason: 'too many unavailable' },
    });
    const resumed = await dashboard.request('POST', `/api/campaigns/${C}/resume`, { session: admin, body: {} });
    expect(resumed.status, resumed.text).toBe(200);
  });

  it('sorts by username and, within a state, by last change, both ways, across pages', async () => {
    const names = PLAN.map((u) => u.name);
    expect(await pageThrough('&sort=name', 5)).toEqual(names);
    expect(await pageThrough('&sort=-name', 5)).toEqual([...names].reverse());
    const failed = (await allUsers())
      .filter((u) => u.state === 'failed')
      .sort((a, b) => a.updatedAt - b.updatedAt || (a.userKey < b.userKey ? -1 : 1))
      .map((u) => u.username);
    expect(failed.length).toBeGreaterThan(2);
    expect(await pageThrough('&state=failed&sort=updated', 2)).toEqual(failed);
    expect(await pageThrough('&state=failed&sort=-updated', 2)).toEqual([...failed].reverse());
    const refused = await dashboard.request('GET', `/api/campaigns/${C}/users?sort=-updated`, { session: admin });
    expect(refused.status).toBe(400);
    expect(refused.json.error.message).toContain('needs a state filter');
  });

  it('answers the schedule of a campaign without windows, waves or caps as such, and 404 for an unknown one', async () => {
    const reply = await dashboard.request('GET', `/api/campaigns/${C}/schedule`, { session: reader });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toEqual({ schedule: { windows: [] } });
    const missing = await dashboard.request('GET', '/api/campaigns/nope/schedule', { session: reader });
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('FR_ERR_CAMPAIGN_NOT_FOUND');
  });

  it('serves every page file from itself under a CSP without inline script', async () => {
    const index = await fetch(`${dashboard.base}/`);
    const html = await index.text();
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/https?:\/\//);
    for (const path of ['/app.js', '/js/campaign-page.js', '/js/users-table.js', '/js/charts.js', '/favicon.svg']) {
      const reply = await fetch(`${dashboard.base}${path}`);
      expect(reply.status, path).toBe(200);
      const text = await reply.text();
      expect(text, path).toBe(
        readFileSync(resolve(import.meta.dirname, '../../src/dashboard/public', path.slice(1)), 'utf8'),
      );
      expect(text, path).not.toMatch(/\bhttps?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    }
    // Only the files listed at start-up are routes: nothing else of the package is reachable.
    for (const path of ['/server.ts', '/static-routes.js', '/public/app.js']) {
      const reply = await fetch(`${dashboard.base}${path}`);
      expect([401, 404], path).toContain(reply.status);
    }
  });
});
