import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  type DashboardHarness,
  READONLY_TOKEN,
  type Session,
  startDashboard,
} from '../helpers/dashboard-client.js';
import { createFleetFixture, csvRow, type FleetFixture } from '../helpers/fleet-fixture.js';
import { writeFault } from '../helpers/pipeline-campaign.js';

/**
 * The operator's side of the dashboard over real HTTP: every registered route behind auth and CSRF, Bull Board
 * read-only at /queues, and /metrics against the store after a small real campaign (in-process agents on the local
 * transport; exit 69 = Outlook unavailable, retried then failed; exit 77 = permission, failed at once).
 */
let fixture: FleetFixture;
let dashboard: DashboardHarness;
let admin: Session;
let readOnly: Session;
// Distinctive: static files must not leak it, and a short word like 'ops' occurs in ordinary code.
const C = 'ops-q7zcampaign';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const USERS = Array.from({ length: 12 }, (_, i) => `m${String(i).padStart(2, '0')}`);
const FAULTS: Record<string, string> = { m00: 'exit=69', m01: 'exit=69', m02: 'exit=77' };

interface Route {
  readonly method: string;
  readonly path: string;
}

/** Every method and path Fastify registered, read back from its route tree (HEAD aside: it mirrors GET). */
function registeredRoutes(tree: string): Route[] {
  const routes: Route[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([\s│]*)(?:└──|├──) (\S+) \(([^)]+)\)$/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length / 4;
    const path = (stack[depth - 1] ?? '') + (match[2] ?? '');
    stack[depth] = path;
    stack.length = depth + 1;
    for (const method of (match[3] ?? '').split(', ')) if (method !== 'HEAD') routes.push({ method, path });
  }
  return routes;
}

/** A concrete URL for a route pattern. */
function concrete(path: string): string {
  return path
    .replace(':name', C)
    .replace(':username', 'm03')
    .replace(':queueName', `dep-${C}`)
    .replace(':queueStatus', 'failed')
    .replace(/:\w+/g, 'x')
    .replace(/\*$/, 'js/none.js');
}

const isSafe = (method: string): boolean => method === 'GET';
/** What the dashboard's static login shell may serve to anyone (no data: that comes from /api after login). */
const isStaticShell = (path: string): boolean => !/^\/(api|queues|metrics)(\/|$)/.test(path) && path !== '/healthz';

/** `name{labels} value` lines of a Prometheus text exposition. */
function samples(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`))
    .map((line) => {
      const [, labelText = '', value = ''] = /^[^{]+\{([^}]*)\} (\S+)$/.exec(line) ?? [];
      const labels = Object.fromEntries([...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      return { labels, value: Number(value) };
    });
}

async function scrape(token = METRICS_TOKEN): Promise<{ status: number; text: string; type: string }> {
  const reply = await fetch(`${dashboard.base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  return { status: reply.status, text: await reply.text(), type: reply.headers.get('content-type') ?? '' };
}

beforeAll(async () => {
  fixture = await createFleetFixture('dash-ops');
  for (const [user, fault] of Object.entries(FAULTS)) writeFault(fixture.root, `ws-${user}`, [fault]);
  dashboard = await startDashboard(fixture.fleet, {
    tokens: [
      { name: 'admin', token: ADMIN_TOKEN, role: 'admin' },
      { name: 'read-only', token: READONLY_TOKEN, role: 'read-only' },
      { name: 'prometheus', token: METRICS_TOKEN, role: 'metrics' },
    ],
    metrics: { refreshMs: 100, queueCacheMs: 0 },
  });
  admin = await dashboard.login();
  readOnly = await dashboard.login(READONLY_TOKEN);
  await new Promise((resolve) => setTimeout(resolve, 300)); // the metrics follower has read the (empty) list
  await fixture.startAgent();
  const csv = fixture.writeCsv(
    'ops.csv',
    USERS.map((user, i) => csvRow(user, `ws-${user}`, i % 2 === 0 ? 'lyon' : 'paris')),
  );
  await fixture.fleet.importCsv({
    campaign: C,
    source: { path: csv },
    allowRejects: false,
    start: true,
    settings: fixture.settings(),
    reportDir: fixture.dir,
  });
  await fixture.waitForFinal(C, USERS.length);
}, 90_000);

afterAll(async () => {
  await dashboard?.close();
  await fixture?.close();
});

describe('dashboard operations', () => {
  it('refuses every registered route without a session, except /healthz and the static login shell', async () => {
    const routes = registeredRoutes(dashboard.app.printRoutes({ commonPrefix: false }));
    expect(routes.length).toBeGreaterThan(40);
    expect(routes).toContainEqual({ method: 'GET', path: '/metrics' });
    expect(routes).toContainEqual({ method: 'PUT', path: '/queues/api/queues/:queueName/:jobId/retry' });
    for (const { method, path } of routes) {
      const url = concrete(path);
      const reply = await dashboard.request(method, url);
      if (path === '/healthz') {
        expect(reply.status).toBe(200);
      } else if (isSafe(method) && isStaticShell(path) && reply.status === 200) {
        expect(reply.headers.get('content-type'), url).toMatch(/^(text\/(html|css|javascript)|image\/svg\+xml)/);
        expect(reply.text, url).not.toContain(C);
      } else {
        expect(reply.status, `${method} ${url}`).toBe(401);
      }
      // A bearer header is no way around it on a state-changing route.
      if (!isSafe(method) && path !== '/api/login') {
        const bearer = await fetch(`${dashboard.base}${url}`, {
          method,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, origin: dashboard.base },
        });
        expect(bearer.status, `${method} ${url} with a bearer token`).toBe(401);
      }
    }
    expect((await fixture.fleet.campaign(C)).state).toBe('done');
  });

  it('refuses every state-changing route without the CSRF token, from another origin, and for the read-only token', async () => {
    const before = await fixture.fleet.queueCounts(C);
    const unsafe = registeredRoutes(dashboard.app.printRoutes({ commonPrefix: false })).filter(
      (route) => !isSafe(route.method) && route.path !== '/api/login',
    );
    expect(unsafe.length).toBeGreaterThan(25);
    for (const { method, path } of unsafe) {
      const url = concrete(path);
      const none = await dashboard.request(method, url, { session: admin, csrf: null, body: {} });
      expect(none.status, `${method} ${url}`).toBe(403);
      expect(none.json.error.code).toBe('FR_ERR_DASHBOARD_CSRF');
      const foreign = await dashboard.request(method, url, { session: admin, origin: 'http://evil.example', body: {} });
      expect(foreign.status, `${method} ${url}`).toBe(403);
      expect(foreign.json.error.code).toBe('FR_ERR_DASHBOARD_CSRF');
      if (path === '/api/logout') continue; // the read-only token may end its own session
      const looker = await dashboard.request(method, url, { session: readOnly, body: {} });
      expect(looker.status, `${method} ${url}`).toBe(403);
      expect(looker.json.error.code).toBe('FR_ERR_DASHBOARD_FORBIDDEN');
    }
    expect((await fixture.fleet.campaign(C)).state).toBe('done');
    expect(await fixture.fleet.queueCounts(C)).toEqual(before);
    expect((await fixture.fleet.auditLog()).entries).toEqual([]);
  });

  it('shows the campaign queues read-only at /queues, to the read-only token too, with its own scoped CSP', async () => {
    const listed = await dashboard.request('GET', '/queues/api/queues', { session: readOnly });
    expect(listed.status, listed.text).toBe(200);
    const names = listed.json.queues.map((queue: { name: string }) => queue.name).sort();
    expect(names).toEqual([`dep-${C}`, `gen-${C}`]);
    for (const queue of listed.json.queues) expect(queue.readOnlyMode).toBe(true);
    const bearer = await fetch(`${dashboard.base}/queues/api/queues`, {
      headers: { authorization: `Bearer ${READONLY_TOKEN}` },
    });
    expect(bearer.status).toBe(200);

    // Even an admin session with its CSRF token cannot retry, add or clean jobs through Bull Board's API.
    const before = await fixture.fleet.queueCounts(C);
    for (const [method, path] of [
      ['PUT', `/queues/api/queues/dep-${C}/retry/failed`],
      ['PUT', `/queues/api/queues/dep-${C}/clean/completed`],
      ['POST', `/queues/api/queues/dep-${C}/add`],
      ['PUT', '/queues/api/queues/pause'],
    ] as const) {
      const reply = await dashboard.request(method, path, { session: admin, body: { name: 'apply', data: {} } });
      expect(reply.status, path).toBe(403);
      expect(reply.json.error.code).toBe('FR_ERR_DASHBOARD_FORBIDDEN');
    }
    expect(await fixture.fleet.queueCounts(C)).toEqual(before);

    const page = await dashboard.request('GET', '/queues', { session: readOnly });
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("base-uri 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.text).toContain('<base href="/queues/"');
    expect(page.text).not.toMatch(/https?:\/\//);
    const script = /<script defer="defer" src="([^"]+)"|<script defer src="([^"]+)"/.exec(page.text);
    const src = script?.[1] ?? script?.[2];
    expect(src).toBeDefined();
    const asset = await dashboard.request('GET', `/queues/${src}`, { session: readOnly });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('javascript');
    // The relaxation stays on /queues: the dashboard's own pages keep the strict policy.
    const own = await dashboard.request('GET', '/api/campaigns', { session: readOnly });
    expect(own.headers.get('content-security-policy')).not.toContain('unsafe-inline');
  });

  it('pages the users table by username prefix over the name index, alone or with other filters', async () => {
    const names = async (query: string): Promise<string[]> => {
      const reply = await dashboard.request('GET', `/api/campaigns/${C}/users?${query}`, { session: readOnly });
      expect(reply.status, reply.text).toBe(200);
      return reply.json.users.map((user: { username: string }) => user.username);
    };
    expect(await names('prefix=M0&limit=50')).toEqual(USERS.filter((u) => u.startsWith('m0')));
    expect(await names('prefix=m0&state=failed&limit=50')).toEqual(['m00', 'm01', 'm02']);
    expect(await names('prefix=m0&state=failed&site=lyon&code=FR_ERR_REMOTE_UNAVAILABLE')).toEqual(['m00']);
    expect(await names('state=failed&site=paris')).toEqual(['m01']);
  });

  it('serves /metrics to a bearer token, matching the store after a real campaign', async () => {
    expect((await scrape('not-a-token-0123456789')).status).toBe(401);
    const asSession = await dashboard.request('GET', '/metrics', { session: readOnly });
    expect(asSession.status).toBe(200);
    // The metrics token reaches /metrics only, and opens no session.
    const elsewhere = await fetch(`${dashboard.base}/api/campaigns`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(elsewhere.status).toBe(403);
    expect((await dashboard.request('POST', '/api/login', { body: { token: METRICS_TOKEN } })).status).toBe(401);

    const recount = await fixture.fleet.recount(C);
    expect(recount.applied).toBe(USERS.length - Object.keys(FAULTS).length);
    expect(recount.failed).toBe(Object.keys(FAULTS).length);
    // Attempts as the histories hold them, per step and outcome.
    const expected = new Map<string, number>();
    for await (const batch of fixture.fleet.internals.store.scanUsers(C, {}, 100)) {
      for (const user of batch) {
        for (const attempt of await fixture.fleet.internals.store.getAttempts(C, user.userKey)) {
          const key = `${attempt.stage}/${attempt.outcome}/${attempt.cause ?? attempt.code ?? ''}`;
          expected.set(key, (expected.get(key) ?? 0) + 1);
        }
      }
    }
    expect(expected.get('apply/failed/FR_ERR_REMOTE_PERMISSION')).toBe(1);

    let text = '';
    const deadline = Date.now() + 10_000;
    for (;;) {
      const reply = await scrape();
      expect(reply.status).toBe(200);
      expect(reply.type).toContain('text/plain');
      text = reply.text;
      const total = samples(text, 'fleet_attempts_total').reduce((sum, s) => sum + s.value, 0);
      if (total >= [...expected.values()].reduce((a, b) => a + b, 0) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const users = samples(text, 'fleet_users').filter((s) => s.labels['campaign'] === C);
    for (const [state, count] of Object.entries(recount)) {
      expect(users.find((s) => s.labels['state'] === state)?.value, state).toBe(count);
    }
    expect(users.length).toBe(Object.keys(recount).length);
    const attempts = new Map<string, number>();
    for (const s of samples(text, 'fleet_attempts_total')) {
      if (s.labels['campaign'] !== C) continue;
      attempts.set(`${s.labels['stage']}/${s.labels['outcome']}/${s.labels['cause']}`, s.value);
    }
    expect(attempts).toEqual(expected);
    const applyCount = samples(text, 'fleet_step_duration_seconds_count')
      .filter((s) => s.labels['campaign'] === C && s.labels['stage'] === 'apply')
      .reduce((sum, s) => sum + s.value, 0);
    const applyAttempts = [...expected].filter(([key]) => key.startsWith('apply/')).reduce((sum, [, n]) => sum + n, 0);
    expect(applyCount).toBe(applyAttempts);
    expect(samples(text, 'fleet_campaign_state')).toContainEqual({ labels: { campaign: C, state: 'done' }, value: 1 });
    const waiting = samples(text, 'fleet_queue_jobs').find(
      (s) => s.labels['campaign'] === C && s.labels['queue'] === 'deploy' && s.labels['state'] === 'waiting',
    );
    expect(waiting?.value).toBe(0);
    const live = await fixture.fleet.agents();
    expect(live.length).toBeGreaterThan(0);
    expect(text).toContain(`\nfleet_agents_alive ${live.length}\n`);
    // A done campaign is served by no agent any more: the heartbeats say which campaigns each one serves.
    const serving = live.filter((agent) => agent.campaigns.includes(C)).length;
    expect(samples(text, 'fleet_campaign_agents')).toContainEqual({ labels: { campaign: C }, value: serving });
    expect(text).toMatch(/^fleet_dashboard_process_resident_memory_bytes \d+/m);
    expect(text).not.toContain(ADMIN_TOKEN);

    // A dashboard started after the campaign counts from its own start: nothing already counted is counted again.
    const later = await startDashboard(fixture.fleet, { metrics: { refreshMs: 100 } });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const fresh = await fetch(`${later.base}/metrics`, { headers: { authorization: `Bearer ${READONLY_TOKEN}` } });
      const body = await fresh.text();
      expect(samples(body, 'fleet_attempts_total').filter((s) => s.labels['campaign'] === C)).toEqual([]);
      expect(
        samples(body, 'fleet_users').find((s) => s.labels['campaign'] === C && s.labels['state'] === 'applied')?.value,
      ).toBe(recount.applied);
    } finally {
      await later.close();
    }
  });
});
