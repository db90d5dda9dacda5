import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launchBrowser } from '../helpers/browser.js';
import { ADMIN_TOKEN, type DashboardHarness, startDashboard } from '../helpers/dashboard-client.js';
import { createFleetFixture, csvRow, type FleetFixture } from '../helpers/fleet-fixture.js';
import { writeFault } from '../helpers/pipeline-campaign.js';

/**
 * Waves and windows in a real browser (local transport, the POSIX stand-in failing for one canary user): the
 * campaign halts at the canary's failure above max_fail_percent, the page shows the halt reason, the failing user
 * and the wave's failure rate; the admin resumes (confirm), the next wave runs live, a user of a site whose window
 * is shut shows why it waits, deploy slots are shown against the caps, and the resume is in the audit trail.
 */
const C = 'waves-ui';
let f: FleetFixture;
let dashboard: DashboardHarness;
let browser: Browser;

/** A daily one-hour window starting two hours from now (never the current hour): shut now. */
function shutWindow(): string {
  const start = (new Date().getUTCHours() + 2) % 22;
  const hh = (n: number) => String(n).padStart(2, '0');
  return `${hh(start)}:00-${hh(start + 1)}:00`;
}

async function countOf(page: Page, state: string): Promise<string> {
  return (
    (await page
      .locator(`#state-counts td[data-state="${state}"]`)
      .textContent({ timeout: 1000 })
      .catch(() => '0')) ?? '0'
  );
}

beforeAll(async () => {
  f = await createFleetFixture('dash-waves');
  // canary wu1..wu4 (wu1 fails: 25% > 10%), wave 2 wu5..wu8, of which wu8 is at a site whose window is shut.
  const rows = Array.from({ length: 8 }, (_, i) => csvRow(`wu${i + 1}`, `wh${i + 1}`, i === 7 ? 'tokyo' : 'paris'));
  writeFault(f.root, 'wh1', ['exit=77']);
  const settings = f.settings({
    deploy: { transport: 'local', local_root: f.root },
    waves: { canary: 4, size: 4, max_fail_percent: 10, soak_minutes: 0.01 },
    caps: { max_in_flight: 4, sites: { paris: 2 } },
    schedule: { timezone: 'Europe/Paris', sites: { tokyo: { timezone: 'UTC', windows: [{ hours: shutWindow() }] } } },
  });
  await f.fleet.importCsv({ source: { path: f.writeCsv('w.csv', rows) }, campaign: C, settings, allowRejects: false });
  await f.startAgent({ concurrency: 1 });
  await f.fleet.start(C);
  dashboard = await startDashboard(f.fleet);
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.screenshot('waves-last').catch(() => undefined);
  await browser?.close();
  await dashboard?.close();
  await f?.close();
});

describe('waves and windows in the dashboard', () => {
  it('shows the halt of a wave with its reason and failing user, resumes after a confirm, and goes on live', async () => {
    const { page } = browser;
    await page.goto(dashboard.base);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#campaign-table');

    // The list: halted, why, and the wave with its failure rate (reloaded until the canary fails).
    await expect
      .poll(
        async () => {
          await page.goto(`${dashboard.base}/#/`);
          await page.reload();
          await page.waitForSelector('#campaign-table');
          return page.textContent('#campaign-table tbody tr');
        },
        { timeout: 20_000, interval: 500 },
      )
      .toContain('halted');
    const listed = (await page.textContent('#campaign-table tbody tr')) ?? '';
    expect(listed).toContain('wave 1 of 2 · 25% failed (max 10%)');
    expect(listed).toContain('other sites: open · tokyo: shut, opens at');
    await browser.screenshot('waves-1-list');

    // The campaign page: the halt reason, the failing user, the wave against its threshold, the windows.
    await page.click(`#campaign-table a[href="#/c/${C}"]`);
    await page.waitForSelector('#halt-reason');
    expect(await page.textContent('#halt-reason')).toBe(
      'Halted: wave 1: 1 of 4 users failed (25%), above max_fail_percent 10%',
    );
    expect(await page.locator('#halt-users a').allTextContents()).toEqual(['wu1']);
    expect(await page.textContent('#wave-status')).toContain('Wave 1 of 2');
    expect(await page.textContent('#wave-status')).toContain('failure rate 25% (1 of 4) vs max_fail_percent 10%');
    const windows = await page.locator('#window-table tbody tr').allTextContents();
    expect(windows).toHaveLength(2);
    expect(windows[0]).toContain('Europe/Paris');
    expect(windows[0]).toContain('open');
    expect(windows[1]).toMatch(/^tokyoUTCshut, opens at \d{4}-\d\d-\d\d \d\d:00 UTC$/);
    // Deploy slots against the caps: the fleet's and paris's own.
    const slots = await page
      .locator('#slot-table tbody tr')
      .evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent)));
    expect(slots.map(([label, , cap]) => [label, cap])).toEqual([
      ['every site', '4'],
      ['paris', '2'],
    ]);
    await browser.screenshot('waves-2-halted');

    // Resume asks first; then wave 2 runs live (no reload): 3 more applied, wu8 waits for its window.
    await page.click('button[data-action="resume"]');
    await page.waitForSelector('#confirm[open]');
    expect(await page.textContent('#confirm-text')).toBe(`Resume campaign ${C}?`);
    await page.click('#confirm-ok');
    await expect.poll(() => countOf(page, 'applied'), { timeout: 20_000, interval: 250 }).toBe('6');
    await page.waitForSelector('#halt-reason', { state: 'detached' });
    expect(await page.textContent('h2 .badge')).toBe('running');
    await page.fill('#f-q', 'wu8');
    await page.click('#apply-filter');
    await expect
      .poll(() => page.locator('#user-table tbody tr td.parked').first().textContent(), { timeout: 20_000 })
      .toMatch(/^outside the maintenance window: opens \w{3} \d{4}-\d\d-\d\d \d\d:00 UTC/);
    await browser.screenshot('waves-3-resumed');

    // The username header sorts every page on the server: descending on the second click.
    await page.fill('#f-q', '');
    await page.click('#apply-filter');
    await page.click('th[data-sort="username"]');
    await page.waitForSelector('th[data-sort="username"][data-sorted="asc"]');
    await page.click('th[data-sort="username"]');
    await page.waitForSelector('th[data-sort="username"][data-sorted="desc"]');
    await expect
      .poll(() => page.locator('#user-table tbody tr td:nth-child(2) a').allTextContents())
      .toEqual(['wu8', 'wu7', 'wu6', 'wu5', 'wu4', 'wu3', 'wu2', 'wu1']);

    // The user page says the same; the audit trail names the resume.
    await page.click('#user-table a:text-is("wu8")');
    await page.waitForSelector('#user-facts');
    expect(await page.textContent('#user-facts')).toContain('Waiting becauseoutside the maintenance window');
    const { entries } = await f.fleet.auditLog();
    expect(entries.map((entry) => [entry.who, entry.action, entry.campaign, entry.outcome])).toContainEqual([
      'admin',
      'resume',
      C,
      'running',
    ]);
    expect(browser.pageErrors).toEqual([]);
  }, 60_000);
});
