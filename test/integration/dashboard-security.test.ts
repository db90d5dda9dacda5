import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  type DashboardHarness,
  READONLY_TOKEN,
  type RequestOptions,
  startDashboard,
} from '../helpers/dashboard-client.js';
import { CSV_HEADER, createFleetFixture, csvRow, type FleetFixture } from '../helpers/fleet-fixture.js';

/** Auth, read-only token, CSRF and origin, headers and limits, over real HTTP against a real Redis. */
let fixture: FleetFixture;
let dashboard: DashboardHarness;
const C = 'sec';

const READS = [
  '/api/session',
  '/api/campaigns',
  `/api/campaigns/${C}`,
  `/api/campaigns/${C}/users?limit=5`,
  `/api/campaigns/${C}/users/alice`,
  `/api/campaigns/${C}/export?format=csv`,
  `/api/campaigns/${C}/events`,
  '/api/audit',
];

/** Every state-changing route with a body it would accept. */
const ACTIONS: ReadonlyArray<readonly [string, RequestOptions]> = [
  [`/api/campaigns/${C}/pause`, {}],
  [`/api/campaigns/${C}/resume`, {}],
  [`/api/campaigns/${C}/cancel`, {}],
  [`/api/campaigns/${C}/retry`, { body: { user: 'alice' } }],
  [`/api/campaigns/${C}/rollback`, { body: { user: 'alice' } }],
  ['/api/campaigns?name=sec2', { raw: { type: 'text/csv', data: 'username\nbob\n' } }],
];

beforeAll(async () => {
  fixture = await createFleetFixture('dash-sec');
  const csv = fixture.writeCsv('sec.csv', [csvRow('alice', 'ws-a'), csvRow('bob', 'ws-b')]);
  await fixture.fleet.importCsv({ campaign: C, source: { path: csv }, allowRejects: false, reportDir: fixture.dir });
  dashboard = await startDashboard(fixture.fleet);
});

afterAll(async () => {
  await dashboard?.close();
  await fixture?.close();
});

describe('dashboard security', () => {
  it('answers /healthz without a session and every API route with 401 without one', async () => {
    expect((await dashboard.request('GET', '/healthz')).status).toBe(200);
    for (const path of READS) {
      const reply = await dashboard.request('GET', path);
      expect(reply.status, path).toBe(401);
      expect(reply.json.error.code, path).toBe('FR_ERR_DASHBOARD_UNAUTHENTICATED');
    }
    for (const [path, options] of [...ACTIONS, ['/api/logout', {}] as const]) {
      const reply = await dashboard.request('POST', path, options);
      expect(reply.status, path).toBe(401);
    }
    const forged = await dashboard.request('GET', '/api/campaigns', {
      session: { cookie: 'fr_session=forged-session-id', csrf: 'x' },
    });
    expect(forged.status).toBe(401);
    expect((await fixture.fleet.campaign(C)).state).toBe('draft');
  });

  it('refuses a wrong token and gives a HttpOnly, SameSite=Strict session cookie for a right one', async () => {
    const wrong = await dashboard.request('POST', '/api/login', { body: { token: `${ADMIN_TOKEN}x` } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const right = await dashboard.request('POST', '/api/login', { body: { token: ADMIN_TOKEN } });
    expect(right.status).toBe(200);
    const cookie = right.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^fr_session=[\w-]{40,};/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(right.text).not.toContain(ADMIN_TOKEN);
    expect(right.json).toMatchObject({ who: 'admin', role: 'admin' });
  });

  it('lets the read-only token look but answers 403 on every state-changing route', async () => {
    const session = await dashboard.login(READONLY_TOKEN);
    for (const path of READS.filter((p) => !p.endsWith('/events'))) {
      expect((await dashboard.request('GET', path, { session })).status, path).toBe(200);
    }
    for (const [path, options] of ACTIONS) {
      const reply = await dashboard.request('POST', path, { ...options, session });
      expect(reply.status, path).toBe(403);
      expect(reply.json.error.code, path).toBe('FR_ERR_DASHBOARD_FORBIDDEN');
    }
    expect((await fixture.fleet.campaign(C)).state).toBe('draft');
    await expect(fixture.fleet.campaign('sec2')).rejects.toMatchObject({ code: 'FR_ERR_CAMPAIGN_NOT_FOUND' });
    expect((await fixture.fleet.auditLog()).entries).toEqual([]);
  });

  it('refuses every state-changing request without the CSRF token, with a wrong one, or from another origin', async () => {
    const session = await dashboard.login();
    for (const [path, options] of [...ACTIONS, ['/api/logout', {}] as const]) {
      const none = await dashboard.request('POST', path, { ...options, session, csrf: null });
      expect(none.status, path).toBe(403);
      expect(none.json.error.code, path).toBe('FR_ERR_DASHBOARD_CSRF');
      const wrong = await dashboard.request('POST', path, { ...options, session, csrf: `${session.csrf}x` });
      expect(wrong.status, path).toBe(403);
      const foreign = await dashboard.request('POST', path, { ...options, session, origin: 'http://evil.example' });
      expect(foreign.status, path).toBe(403);
      expect(foreign.json.error.code, path).toBe('FR_ERR_DASHBOARD_CSRF');
      const noOrigin = await dashboard.request('POST', path, { ...options, session, origin: null });
      expect(noOrigin.status, path).toBe(403);
    }
    const foreignLogin = await dashboard.request('POST', '/api/login', {
      body: { token: ADMIN_TOKEN },
      origin: 'http://evil.example',
    });
    expect(foreignLogin.status).toBe(403);
    // Nothing moved, and the session still works (logout was refused too).
    expect((await fixture.fleet.campaign(C)).state).toBe('draft');
    expect((await dashboard.request('GET', '/api/session', { session })).status).toBe(200);
    // With the token and its own origin, the same request acts.
    const paused = await dashboard.request('POST', `/api/campaigns/${C}/cancel`, { session });
    expect(paused.status).toBe(200);
    expect((await fixture.fleet.campaign(C)).state).toBe('cancelled');
  });

  it('ends a session on logout', async () => {
    const session = await dashboard.login();
    expect((await dashboard.request('POST', '/api/logout', { session })).status).toBe(200);
    expect((await dashboard.request('GET', '/api/campaigns', { session })).status).toBe(401);
  });

  it('sends security headers with a CSP that allows no inline script, and serves the page locally', async () => {
    const page = await dashboard.request('GET', '/');
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.text).toContain('src="/app.js"');
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.text).not.toMatch(/https?:\/\//);
    const script = await dashboard.request('GET', '/app.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('javascript');
  });

  it('refuses a JSON body over the limit with 413', async () => {
    const session = await dashboard.login();
    const reply = await dashboard.request('POST', `/api/campaigns/${C}/retry`, {
      session,
      body: { user: 'alice', padding: 'x'.repeat(100 * 1024) },
    });
    expect(reply.status).toBe(413);
    expect(reply.json.error.code).toBe('FR_ERR_DASHBOARD_TOO_LARGE');
  });

  it('refuses an upload over the limit with 413 and imports nothing', async () => {
    const small = await startDashboard(fixture.fleet, { uploadLimit: 1024 });
    try {
      const session = await small.login();
      const rows = Array.from({ length: 40 }, (_, i) => csvRow(`big${i}`, `ws-big${i}`));
      const reply = await small.request('POST', '/api/campaigns?name=big', {
        session,
        raw: { type: 'text/csv', data: `${CSV_HEADER}\n${rows.join('\n')}\n` },
      });
      expect(reply.status).toBe(413);
      expect(reply.json.error.code).toBe('FR_ERR_DASHBOARD_TOO_LARGE');
      // Chunked (no content-length): cut off while streaming.
      const body = `${CSV_HEADER}\n${rows.join('\n')}\n`;
      const chunked = await fetch(`${small.base}/api/campaigns?name=big`, {
        method: 'POST',
        headers: {
          'content-type': 'text/csv',
          cookie: session.cookie,
          'x-csrf-token': session.csrf,
          origin: small.base,
        },
        body: new ReadableStream({
          start(controller) {
            for (let i = 0; i < body.length; i += 256)
              controller.enqueue(new TextEncoder().encode(body.slice(i, i + 256)));
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      expect(chunked.status).toBe(413);
      await expect(fixture.fleet.campaign('big')).rejects.toMatchObject({ code: 'FR_ERR_CAMPAIGN_NOT_FOUND' });
    } finally {
      await small.close();
    }
  });

  it('ends live event streams when the server closes', async () => {
    const other = await startDashboard(fixture.fleet);
    const session = await other.login(READONLY_TOKEN);
    const live = await fetch(`${other.base}/api/campaigns/${C}/events`, { headers: { cookie: session.cookie } });
    expect(live.status).toBe(200);
    expect(live.headers.get('content-type')).toContain('text/event-stream');
    const drained = live.text();
    const started = Date.now();
    await other.close();
    await drained;
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('expires sessions', async () => {
    const short = await startDashboard(fixture.fleet, { sessionTtlMs: 300 });
    try {
      const session = await short.login();
      expect((await short.request('GET', '/api/campaigns', { session })).status).toBe(200);
      await new Promise((resume) => setTimeout(resume, 400));
      expect((await short.request('GET', '/api/campaigns', { session })).status).toBe(401);
    } finally {
      await short.close();
    }
  });

  it('rate-limits logins', async () => {
    const limited = await startDashboard(fixture.fleet, { loginRateLimit: { max: 3, timeWindowMs: 60_000 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        statuses.push((await limited.request('POST', '/api/login', { body: { token: 'wrong-token' } })).status);
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const right = await limited.request('POST', '/api/login', { body: { token: ADMIN_TOKEN } });
      expect(right.status).toBe(429);
      expect(right.json.error.code).toBe('FR_ERR_DASHBOARD_RATE_LIMITED');
    } finally {
      await limited.close();
    }
  });
});
