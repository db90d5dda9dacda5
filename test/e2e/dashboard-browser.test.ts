import { chown, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import type { RunningAgent } from '../../src/workers/start-agent.js';
import { type Browser, launchBrowser } from '../helpers/browser.js';
import { ADMIN_TOKEN, type DashboardHarness, READONLY_TOKEN, startDashboard } from '../helpers/dashboard-client.js';
import { createFleetFixture, type FleetFixture } from '../helpers/fleet-fixture.js';
import { startSshAgent } from '../helpers/ssh-agent.js';
import {
  ensureTestAccount,
  generateKey,
  makeTempDir,
  makeWorkstation,
  Sshd,
  TEST_LOGIN,
  type Workstation,
} from '../helpers/sshd.js';

/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) over a campaign deployed by a real
 * agent over SSH to real sshd daemons, the POSIX stand-in made to fail for some users with its fault switches:
 * log in, upload, watch the failures, filter by cause and site, retry all matching (confirm dialog), watch them
 * become applied live, export the CSV, upload a CSV with a bad row. Screenshots: test-results/screenshots/.
 * FLEET_UPDATE_DOCS_IMG=1 also writes docs/img/dashboard-campaign.png.
 */
const C = 'paris-lyon-wave1';
const UNAVAILABLE = 'FR_ERR_REMOTE_UNAVAILABLE';
const LYON = '127.0.0.41';
const PARIS = '127.0.0.42';
const USERS = Array.from({ length: 8 }, (_, i) => {
  const name = `u${i + 1}`;
  const lyon = i < 4;
  // u1, u2 (lyon) and u5 (paris): Outlook unavailable (exit 69); u3 (lyon): permission denied (exit 77).
  const fault = ['u1', 'u2', 'u5'].includes(name) ? 'exit=69' : name === 'u3' ? 'exit=77' : undefined;
  return { name, site: lyon ? 'lyon' : 'paris', host: lyon ? LYON : PARIS, fault };
});

let fixture: FleetFixture;
let sshd: Sshd;
let workstation: Workstation;
let hostsDir: string | undefined;
let agent: RunningAgent | undefined;
let dashboard: DashboardHarness;
let browser: Browser;

const userRoot = (name: string): string => join(workstation.root, name);

function csv(rows: readonly string[]): string {
  return `username,email,display_name,host,site,office\n${rows.join('\n')}\n`;
}

function campaignYaml(): string {
  const site = (port: number) => ({ port, staging_dir: workstation.staging, apply_command: 'standin-per-user' });
  return JSON.stringify({
    defaults: { exchange_server: 'exch01.corp.example.com', proxy: 'https://mail.example.com' },
    retry: { max_attempts: 3, base_delay_seconds: 0.1, max_delay_seconds: 0.3, jitter: 0, horizon_hours: 1 },
    deploy: {
      transport: 'ssh',
      timeout_seconds: 60,
      ssh: { user: TEST_LOGIN, target_os: 'posix' },
      sites: { lyon: site(sshd.endpoints[0]!.port), paris: site(sshd.endpoints[1]!.port) },
    },
  });
}

async function countOf(page: Page, state: string): Promise<string> {
  return (
    (await page
      .locator(`#state-counts td[data-state="${state}"]`)
      .textContent({ timeout: 1000 })
      .catch(() => '0')) ?? '0'
  );
}

async function waitForCount(page: Page, state: string, expected: number): Promise<void> {
  await expect.poll(() => countOf(page, state), { timeout: 60_000, interval: 250 }).toBe(String(expected));
}

async function waitForMatching(page: Page, expected: number): Promise<void> {
  await expect.poll(() => page.getAttribute('#matching', 'data-count'), { timeout: 20_000 }).toBe(String(expected));
}

async function tableUsers(page: Page): Promise<string[]> {
  return page.locator('#user-table tbody tr td:nth-child(2) a').allTextContents();
}

beforeAll(async () => {
  fixture = await createFleetFixture('dash-browser');
  sshd = await Sshd.create({ addresses: [LYON, PARIS] });
  const key = await generateKey(fixture.dir, 'deploy_key');
  await sshd.authorize([key.publicLine]);
  // The login must traverse the workstation's folders (the fixture's own temp folder is private).
  const hosts = await makeTempDir('fleet-dash-browser-');
  hostsDir = hosts;
  workstation = await makeWorkstation(hosts, sshd.endpoints[0]!);
  const account = ensureTestAccount();
  for (const user of USERS) {
    await mkdir(userRoot(user.name));
    await chown(userRoot(user.name), account.uid, account.gid);
    if (user.fault) await writeFile(join(userRoot(user.name), 'fault'), `${user.fault}\n`);
  }
  // One workstation root per user (`{user}` is substituted quoted: '<root>'/'u1' is one shell word).
  const template = `sh {script} --campaign {campaign} --user {user} --prf {prf} --office {office} --checksum {checksum} --root '${workstation.root}'/{user} {rollback}`;
  await writeFile(join(fixture.dir, 'apply-commands.yaml'), `standin-per-user: ${JSON.stringify(template)}\n`);
  await writeFile(
    join(fixture.dir, 'known_hosts'),
    `${sshd.endpoints.map((e) => sshd.knownHostsLine(e)).join('\n')}\n`,
  );
  const logger = createLogger({ level: 'silent' });
  agent = (
    await startSshAgent({
      prefix: fixture.prefix,
      logger,
      ssh: {
        sshKey: key.path,
        knownHosts: join(fixture.dir, 'known_hosts'),
        hostKeyPolicy: 'strict',
        allowApplyCommands: join(fixture.dir, 'apply-commands.yaml'),
      },
    })
  ).agent;
  dashboard = await startDashboard(fixture.fleet);
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  // The page as it was at the end (a failure's screenshot is the most useful one).
  await browser?.screenshot('last').catch(() => undefined);
  await browser?.close();
  await dashboard?.close();
  await agent?.stop();
  await sshd?.close();
  await fixture?.close();
  if (hostsDir) await rm(hostsDir, { recursive: true, force: true });
});

describe('dashboard in a browser', () => {
  it('shows failures by cause, retries all matching after a confirm, updates live, exports, rejects a bad row', async () => {
    const { page } = browser;
    await page.goto(dashboard.base);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#empty');
    expect(await page.textContent('#who')).toBe('admin (admin)');

    // Upload the CSV and the campaign file through the page; the campaign starts at once.
    await page.click('a[href="#/upload"]');
    await page.fill('#up-name', C);
    const rows = USERS.map(
      (u) =>
        `${u.name},${u.name}@corp.example.com,${u.name === 'u4' ? '=HYPERLINK("x")' : `User ${u.name}`},${u.host},${u.site},2010`,
    );
    await page.setInputFiles('#up-csv', { name: 'wave1.csv', mimeType: 'text/csv', buffer: Buffer.from(csv(rows)) });
    await page.setInputFiles('#up-settings', {
      name: 'wave1.yaml',
      mimeType: 'application/yaml',
      buffer: Buffer.from(campaignYaml()),
    });
    await page.click('#upload-submit');
    await page.waitForSelector('#upload-ok');
    await page.click('#upload-ok a');

    // The campaign page follows the run live: 4 applied, 4 failed over SSH.
    await waitForCount(page, 'applied', 4);
    await waitForCount(page, 'failed', 4);
    await page.waitForSelector(`#chart-code rect[data-key="${UNAVAILABLE}"]`);
    expect(
      await page.locator('#chart-site rect').evaluateAll((bars) => bars.map((b) => b.getAttribute('data-key'))),
    ).toEqual(['lyon', 'paris']);
    await browser.screenshot('1-campaign-failures');

    // Filter by cause (a click on the chart's bar) and by site.
    await page.click(`#chart-code rect[data-key="${UNAVAILABLE}"]`);
    await waitForMatching(page, 3);
    await page.fill('#f-site', 'lyon');
    await page.click('#apply-filter');
    await waitForMatching(page, 2);
    expect((await tableUsers(page)).sort()).toEqual(['u1', 'u2']);

    // The stand-in now succeeds for them; "Retry all matching" asks first, with the count.
    for (const name of ['u1', 'u2']) await rm(join(userRoot(name), 'fault'));
    await page.click('#retry-matching');
    await page.waitForSelector('#confirm[open]');
    expect(await page.textContent('#confirm-text')).toBe('Retry 2 users?');
    await browser.screenshot('2-confirm-retry');
    await page.click('#confirm-ok');

    // Live: the counts move without a reload (SSE), the others stay failed.
    await waitForCount(page, 'applied', 6);
    await waitForCount(page, 'failed', 2);
    expect(await page.textContent('#live')).toContain('live');
    expect(await page.locator('#feed li').count()).toBeGreaterThan(0);
    await page.selectOption('#f-state', 'applied');
    await page.fill('#f-code', '');
    await page.click('#apply-filter');
    await waitForMatching(page, 3);
    expect((await tableUsers(page)).sort()).toEqual(['u1', 'u2', 'u4']);
    // The agent's heartbeat: it serves this campaign.
    await expect.poll(() => page.locator('#agent-table tbody tr').count(), { timeout: 30_000 }).toBe(1);
    expect(await page.locator('#agent-table tbody tr td').nth(3).textContent()).toBe('ssh');
    expect(await page.textContent('#agents h3')).toContain('Agents alive (1,');
    const shot = await browser.screenshot('3-campaign-retried');
    if (process.env['FLEET_UPDATE_DOCS_IMG'] === '1') {
      await copyFile(shot, resolve(import.meta.dirname, '../../docs/img/dashboard-campaign.png'));
    }

    // Export the filtered table: exactly those users, formula-safe.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    const exported = await readFile((await download.path()) as string, 'utf8');
    const lines = exported.trim().split('\r\n');
    expect(lines[0]?.split(',').slice(0, 5)).toEqual(['username', 'display_name', 'host', 'site', 'state']);
    expect(
      lines
        .slice(1)
        .map((line) => line.split(',')[0])
        .sort(),
    ).toEqual(['u1', 'u2', 'u4']);
    expect(exported).toContain(`"'=HYPERLINK(""x"")"`);
    expect(exported).not.toMatch(/(^|,)=HYPERLINK/m);

    // One user's page: both attempts (the failure with its exit, then the apply), the PRF it was given.
    await page.click('#user-table a:text-is("u1")');
    await page.waitForSelector('#attempts');
    const outcomes = await page.locator('#attempts tbody tr td:nth-child(4)').allTextContents();
    expect(outcomes).toEqual(['applied', 'failed']);
    expect(await page.locator('#attempts tbody tr').nth(1).textContent()).toContain(UNAVAILABLE);
    expect(await page.textContent('#prf-text')).toContain('[General]');
    await browser.screenshot('4-user-page');

    // The audit trail names who did what to how many.
    await page.click('a[href="#/audit"]');
    await page.waitForSelector('#audit-table');
    const retryRow = page.locator('#audit-table tbody tr', { hasText: 'retry' });
    const cells = await retryRow.locator('td').allTextContents();
    expect(cells.slice(1, 4)).toEqual(['admin', 'retry', C]);
    expect(cells[4]).toContain(`code=${UNAVAILABLE}`);
    expect(cells[4]).toContain('site=lyon');
    expect(cells[5]).toBe('2');

    // A CSV with a bad row: its line and reason are shown, nothing is imported.
    await page.click('a[href="#/upload"]');
    await page.fill('#up-name', 'bad-upload');
    const bad = [
      'username,email,exchange_server,proxy,host,site',
      'v1,v1@corp.example.com,exch01.corp.example.com,https://mail.example.com,ws-v1,lyon',
      'v2,not-an-address,exch01.corp.example.com,https://mail.example.com,ws-v2,lyon',
      '',
    ].join('\n');
    await page.setInputFiles('#up-csv', { name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
    await page.click('#upload-submit');
    await page.waitForSelector('#rejections');
    const rejection = await page.locator('#rejections tbody tr').first().locator('td').allTextContents();
    expect(rejection.slice(0, 3)).toEqual(['3', 'email', 'not-an-address']);
    expect(rejection[3]).toMatch(/e-?mail|address/i);
    expect(await page.textContent('#upload-error')).toContain('nothing was imported');
    await browser.screenshot('5-upload-rejected');
    await expect(fixture.fleet.campaign('bad-upload')).rejects.toMatchObject({ code: 'FR_ERR_CAMPAIGN_NOT_FOUND' });

    // The read-only token sees the same pages without a single action.
    await page.click('#logout');
    await page.fill('#token', READONLY_TOKEN);
    await page.click('#login button[type=submit]');
    await page.click('#nav a[href="#/"]');
    await page.waitForSelector('#campaign-table');
    await page.click(`#campaign-table a[href="#/c/${C}"]`);
    await page.waitForSelector('#user-table');
    expect(await page.textContent('#who')).toBe('read-only (read-only)');
    expect(await page.locator('[data-action], #user-actions button, #user-table input').count()).toBe(0);

    expect(browser.pageErrors).toEqual([]);
  }, 180_000);
});
