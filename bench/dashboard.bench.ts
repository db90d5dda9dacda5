/**
 * Dashboard figures at fleet size: a campaign of 100k users (10k failed, one cause) seeded straight through the
 * store, then a real `fleet-rollout dashboard` process (dist/, build first) measured over HTTP: p50/p95 of the users
 * table API (state + code + site, pages of 50, walked by cursor), of a username-prefix search, of an e-mail
 * substring search (common and rare) and of the server-side sorts, the first paint
 * of the dashboard page in Chromium, "retry all matching" over the 10k failed users, and the process's RSS.
 * Usage: npm run bench:dashboard   (BENCH_USERS=…; BENCH_SMOKE=1 for the smoke size; Redis at REDIS_URL)
 * Targets: API p95 < 100 ms, bulk retry of 10k < 5 s, RSS < 300 MB.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { campaignFileSchema } from '../src/config/campaign-schema.js';
import type { UserSpec } from '../src/csv/user-spec.js';
import { createRecordStore } from '../src/store/record-store.js';
import type { RecordStore } from '../src/store/types.js';
import { benchSize, SMOKE, writeBenchResult } from './lib/bench-size.js';

const USERS = benchSize('BENCH_USERS', { full: 100_000, smoke: 2_000 });
const FAILED = Math.floor(USERS / 10);
const SITES = 20;
const SAMPLES = SMOKE ? 20 : 200;
const BATCH = 1_000;
const CAUSE = 'FR_ERR_REMOTE_PERMISSION';
const CAMPAIGN = 'bench';
const TOKEN = randomBytes(24).toString('hex');
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefix = `bench-dash-${randomBytes(3).toString('hex')}`;
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

const DOMAINS = ['contoso', 'fabrikam', 'northwind', 'tailspin'];
const RARE_SAMPLES = SMOKE ? 5 : 20;

const pad = (i: number): string => String(i).padStart(6, '0');

function makeSpec(i: number): UserSpec {
  const username = `user${pad(i)}`;
  return {
    username,
    email: `${username}@${DOMAINS[i % DOMAINS.length]}.example.com`,
    displayName: `User Number ${i}`,
    mailbox: username,
    exchangeServer: 'exch01.corp.example.com',
    proxyHost: 'mail.example.com',
    ssl: true,
    auth: 'ntlm',
    mutualAuth: true,
    principal: 'msstd:mail.example.com',
    httpFirstFast: false,
    httpFirstSlow: true,
    host: `ws-${pad(i)}.corp.example.com`,
    site: `site${Math.floor(i / 10) % SITES}`, // spreads every tenth user (the failed ones) over every site
    office: '16.0',
    profileName: 'Outlook',
  };
}

/** Imports USERS users and walks them by intents to `applied`, every tenth to `failed` with CAUSE. */
async function seed(store: RecordStore): Promise<void> {
  const now = Date.now();
  await store.saveCampaign({
    name: CAMPAIGN,
    state: 'draft',
    stateReason: 'bench',
    csvFile: 'bench.csv',
    csvSha256: '0'.repeat(64),
    settings: campaignFileSchema.parse({}),
    imports: 1,
    totalUsers: USERS,
    rejectedRows: 0,
    createdAt: now,
    updatedAt: now,
  });
  await store.applyCampaignIntent(CAMPAIGN, 'start', 'bench', now);
  for (let i = 0; i < USERS; i += BATCH) {
    const rows = Array.from({ length: Math.min(BATCH, USERS - i) }, (_, j) => ({
      line: i + j + 2,
      spec: makeSpec(i + j),
      specHash: randomBytes(16).toString('hex'),
    }));
    const { queued } = await store.upsertUsers(CAMPAIGN, rows, 1, now);
    const fails = (userIndex: number): boolean => userIndex % 10 === 0;
    for (const intent of ['generate-done', 'deploy-begin', 'outcome'] as const) {
      const moves = queued.map(({ userKey, run }, j) => {
        if (intent !== 'outcome') return { userKey, transition: { intent, run } };
        const failed = fails(i + j);
        return {
          userKey,
          transition: failed
            ? {
                intent: 'deploy-failed-permanent' as const,
                run,
                patch: {
                  lastError: {
                    failureClass: 'permanent' as const,
                    code: CAUSE,
                    message: 'access denied',
                    stage: 'apply' as const,
                  },
                },
              }
            : { intent: 'deploy-succeeded' as const, run },
        };
      });
      await store.transitionMany(CAMPAIGN, moves, Date.now());
    }
  }
  const counts = await store.countByState(CAMPAIGN);
  if (counts.failed !== FAILED || counts.applied !== USERS - FAILED) {
    throw new Error(`seeding went wrong: ${JSON.stringify(counts)}`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function startDashboard(port: number): Promise<ChildProcess> {
  const main = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error('dist/ is missing: npm run build first (npm run bench:dashboard does)');
  const child = spawn(process.execPath, [main, 'dashboard', '--port', String(port)], {
    env: { ...process.env, REDIS_URL, FLEET_PREFIX: prefix, FLEET_DASHBOARD_TOKEN: TOKEN, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return child;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill();
  throw new Error('the dashboard did not answer /healthz within 30 s');
}

function rssMb(pid: number): { rssMb: number; peakRssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakRssMb: Math.round(kb('VmHWM') / 1024) };
}

function percentile(sorted: readonly number[], p: number): number {
  return Number((sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0).toFixed(2));
}

function summarize(times: number[]): { p50Ms: number; p95Ms: number; maxMs: number; samples: number } {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    maxMs: percentile(sorted, 100),
    samples: sorted.length,
  };
}

async function login(base: string): Promise<{ cookie: string; csrf: string }> {
  const reply = await fetch(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ token: TOKEN }),
  });
  if (!reply.ok) throw new Error(`login failed: ${reply.status}`);
  const body = (await reply.json()) as { csrfToken: string };
  return { cookie: (reply.headers.get('set-cookie') ?? '').split(';')[0] ?? '', csrf: body.csrfToken };
}

interface UsersPage {
  readonly users: readonly unknown[];
  readonly nextCursor?: string;
}

async function timeGet(base: string, cookie: string, path: string): Promise<{ ms: number; body: UsersPage }> {
  const started = performance.now();
  const reply = await fetch(`${base}${path}`, { headers: { cookie } });
  const body = (await reply.json()) as UsersPage;
  const ms = performance.now() - started;
  if (!reply.ok) throw new Error(`${path}: ${reply.status} ${JSON.stringify(body)}`);
  return { ms, body };
}

/** Pages of 50 of failed users of one cause and site, walked by cursor (and started over at the end). */
async function measureTable(base: string, cookie: string): Promise<ReturnType<typeof summarize>> {
  const times: number[] = [];
  let cursor: string | undefined;
  let walk = 0;
  for (let i = 0; i < SAMPLES; i++) {
    if (cursor === undefined) walk += 1;
    const site = `site${(walk * 7) % SITES}`;
    const query = `state=failed&code=${CAUSE}&site=${site}&limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const { ms, body } = await timeGet(base, cookie, `/api/campaigns/${CAMPAIGN}/users?${query}`);
    // A full last page hands back a cursor whose page is empty (keyset paging cannot know): the walk ends there.
    if (body.users.length === 0 && cursor === undefined) throw new Error(`an empty page for ${query}`);
    times.push(ms);
    cursor = i % 5 === 4 || body.users.length === 0 ? undefined : body.nextCursor;
  }
  return summarize(times);
}

/** A search as typed in the table's search box: a username prefix, 3 to 9 characters. */
async function measureSearch(base: string, cookie: string): Promise<ReturnType<typeof summarize>> {
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const name = `user${pad((i * 7919) % USERS)}`;
    const typed = name.slice(0, 5 + (i % 6));
    const { ms, body } = await timeGet(base, cookie, `/api/campaigns/${CAMPAIGN}/users?prefix=${typed}&limit=50`);
    if (body.users.length === 0) throw new Error(`nothing found for ${typed}`);
    times.push(ms);
  }
  return summarize(times);
}

/**
 * "Search by e-mail substring" (filtered inside Redis): a common one (a domain: a quarter of the users), walked by
 * cursor over 5 pages of 50 and started again, and a rare one (one user's full address: the whole name index is
 * read, SEARCH_CALL_BUDGET entries a Lua call).
 */
async function measureEmailSearch(base: string, cookie: string): Promise<Record<string, unknown>> {
  const common: number[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < SAMPLES; i++) {
    const domain = DOMAINS[Math.floor(i / 5) % DOMAINS.length];
    const path = `/api/campaigns/${CAMPAIGN}/users?q=${domain}&limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const { ms, body } = await timeGet(base, cookie, path);
    if (body.users.length !== 50) throw new Error(`${path}: ${body.users.length} users`);
    common.push(ms);
    cursor = i % 5 === 4 ? undefined : body.nextCursor;
  }
  const rare: number[] = [];
  let pages = 0;
  for (let i = 0; i < RARE_SAMPLES; i++) {
    const n = (i * 7919 + 13) % USERS;
    const needle = `user${pad(n)}@${DOMAINS[n % DOMAINS.length]}`;
    const started = performance.now();
    let found = 0;
    let next: string | undefined;
    do {
      const path = `/api/campaigns/${CAMPAIGN}/users?q=${encodeURIComponent(needle)}&limit=50${next ? `&cursor=${encodeURIComponent(next)}` : ''}`;
      const { body } = await timeGet(base, cookie, path);
      found += body.users.length;
      next = body.nextCursor;
      pages += 1;
    } while (next !== undefined);
    rare.push(performance.now() - started);
    if (found !== 1) throw new Error(`${needle}: ${found} users`);
  }
  return { common: summarize(common), rareWholeIndex: { ...summarize(rare), requests: pages } };
}

/**
 * The server-side sorts: username descending (name index) and failed users by last change, newest first, also
 * searched by an e-mail domain (filtered inside Redis over the state index).
 */
async function measureSorts(base: string, cookie: string): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  for (const [label, query] of [
    ['usernameDescending', 'sort=-name'],
    ['failedByLastChangeDescending', 'state=failed&sort=-updated'],
    ['failedEmailDomainByLastChange', `state=failed&q=${DOMAINS[2]}&sort=-updated`],
  ] as const) {
    const times: number[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < SAMPLES; i++) {
      const path = `/api/campaigns/${CAMPAIGN}/users?${query}&limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const { ms, body } = await timeGet(base, cookie, path);
      if (body.users.length === 0 && cursor === undefined) throw new Error(`${path}: no user`);
      times.push(ms);
      cursor = body.users.length === 0 ? undefined : body.nextCursor; // at the end, start the walk again
    }
    result[label] = summarize(times);
  }
  return result;
}

/**
 * The campaign page in Chromium, logged in: first contentful paint, and the time until the page is usable (its
 * counts per state and the first page of the users table drawn from the API), from navigation start.
 */
async function measureFirstPaint(base: string, cookie: string): Promise<Record<string, unknown>> {
  if (!existsSync(CHROMIUM)) return { skipped: `no Chromium at ${CHROMIUM}` };
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const context = await browser.newContext();
    const [name, value] = cookie.split('=');
    await context.addCookies([{ name: name ?? '', value: value ?? '', url: base }]);
    const page = await context.newPage();
    const path = `/#/c/${CAMPAIGN}`;
    const reply = await page.goto(`${base}${path}`, { waitUntil: 'load' });
    if (!reply?.ok()) return { skipped: `${path}: ${reply?.status()}` };
    await page.waitForSelector('#state-counts td[data-state="failed"]', { timeout: 30_000 });
    await page.waitForSelector('#user-table tbody tr', { timeout: 30_000 });
    // Evaluated in the page (the browser's Performance API, not Node's).
    const [paint, usable] = (await page.evaluate(
      `(() => { const e = performance.getEntriesByType('paint'); return [(e.find((p) => p.name === 'first-contentful-paint') ?? e[0])?.startTime, performance.now()]; })()`,
    )) as [number | undefined, number];
    return {
      path,
      firstContentfulPaintMs: paint === undefined ? null : Number(paint.toFixed(1)),
      countsAndUsersDrawnMs: Number(usable.toFixed(1)),
    };
  } finally {
    await browser.close();
  }
}

async function measureRetry(base: string, session: { cookie: string; csrf: string }): Promise<Record<string, unknown>> {
  const started = performance.now();
  const reply = await fetch(`${base}/api/campaigns/${CAMPAIGN}/retry`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: session.cookie, 'x-csrf-token': session.csrf, origin: base },
    body: JSON.stringify({ filter: { state: 'failed', code: CAUSE } }),
  });
  const body = (await reply.json()) as { moved?: number };
  const seconds = (performance.now() - started) / 1000;
  if (!reply.ok || body.moved !== FAILED) throw new Error(`retry: ${reply.status} ${JSON.stringify(body)}`);
  return { users: body.moved, seconds: Number(seconds.toFixed(2)) };
}

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  let child: ChildProcess | undefined;
  try {
    let started = performance.now();
    await seed(createRecordStore(redis, prefix));
    const seedSeconds = Number(((performance.now() - started) / 1000).toFixed(1));
    console.log(`seeded ${USERS} users (${FAILED} failed) in ${seedSeconds} s`);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    started = performance.now();
    child = await startDashboard(port);
    const startSeconds = Number(((performance.now() - started) / 1000).toFixed(2));
    const pid = child.pid as number;
    const idle = rssMb(pid);
    const session = await login(base);
    const table = await measureTable(base, session.cookie);
    const search = await measureSearch(base, session.cookie);
    const emailSearch = await measureEmailSearch(base, session.cookie);
    const sorts = await measureSorts(base, session.cookie);
    const firstPaint = await measureFirstPaint(base, session.cookie);
    const metricsStarted = performance.now();
    const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    await metrics.text();
    const metricsScrapeMs = Number((performance.now() - metricsStarted).toFixed(1));
    const retry = await measureRetry(base, session);
    const afterRetry = rssMb(pid);
    const results = {
      users: USERS,
      failed: FAILED,
      seedSeconds,
      dashboardStartSeconds: startSeconds,
      usersTableApi: table,
      usernamePrefixSearch: search,
      emailSubstringSearch: emailSearch,
      sortedPages: sorts,
      firstPaint,
      metricsScrapeMs,
      retryAllMatching: retry,
      rss: { idleMb: idle.rssMb, afterRetryMb: afterRetry.rssMb, peakMb: afterRetry.peakRssMb },
      targets: {
        apiP95Under100Ms: table.p95Ms < 100 && search.p95Ms < 100,
        commonEmailSearchP95Under100Ms: (emailSearch['common'] as { p95Ms: number }).p95Ms < 100,
        retry10kUnder5s: (retry['seconds'] as number) < 5,
        rssUnder300Mb: afterRetry.peakRssMb < 300,
      },
    };
    console.log(JSON.stringify(results, null, 2));
    await writeBenchResult('dashboard', { users: USERS, failed: FAILED }, results);
  } finally {
    child?.kill('SIGTERM');
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (batch.length > 0) await redis.unlink(...batch);
    } while (cursor !== '0');
    await redis.quit();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
