import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatScheduleText } from '../../src/campaign/format-schedule-status.js';
import type { UserRecord } from '../../src/store/types.js';
import { createFleetFixture, csvRow, type FleetFixture } from '../helpers/fleet-fixture.js';
import { writeFault } from '../helpers/pipeline-campaign.js';

/**
 * A maintenance window on the real clock (windows are whole minutes: this one opens at the next minute boundary,
 * at least 8 s away): due users wait, with the reason recorded, until it opens; every deploy starts inside it
 * (the stand-in logs each run's start time).
 */
let f: FleetFixture;
const name = 'windows-live';
const USERS = 12;
const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

beforeAll(async () => {
  f = await createFleetFixture('windows-live');
});
afterAll(() => f.close());

async function allUsers(): Promise<UserRecord[]> {
  const users: UserRecord[] = [];
  for await (const batch of f.fleet.internals.store.scanUsers(name, {})) users.push(...batch);
  return users;
}

describe('maintenance windows, live', () => {
  it('starts no deploy before the window opens, records why users wait, and starts every deploy inside it', async () => {
    let opens = Math.ceil(Date.now() / 60_000) * 60_000;
    if (opens - Date.now() < 8_000) opens += 60_000;
    const closes = opens + 2 * 60_000;
    const rows = Array.from({ length: USERS }, (_, i) => csvRow(`win${i}`, `wh${i}`, i % 2 === 0 ? 'paris' : 'lyon'));
    for (let i = 0; i < USERS; i++) writeFault(f.root, `wh${i}`, ['starts=1', 'sleep=0.3']);
    const settings = f.settings({
      deploy: { transport: 'local', local_root: f.root },
      schedule: {
        timezone: 'UTC',
        windows: [{ days: ['daily'], hours: `${hhmm(opens)}-${hhmm(closes)}` }],
        min_deploy_minutes: 0.01,
      },
    });
    await f.fleet.importCsv({
      source: { path: f.writeCsv('w.csv', rows) },
      campaign: name,
      settings,
      allowRejects: false,
    });
    await f.startAgent({ concurrency: 2 });
    await f.fleet.start(name);

    await f.waitFor(name, (counts) => counts.generated === USERS);
    const waiting = async () => (await allUsers()).every((u) => u.parkedReason?.startsWith('outside the maintenance'));
    const deadline = Date.now() + 5_000;
    while (!(await waiting()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(Date.now()).toBeLessThan(opens);
    const before = await allUsers();
    expect(before.map((u) => u.state)).toEqual(Array(USERS).fill('generated'));
    expect(before[0]?.parkedReason).toBe(
      `outside the maintenance window: opens ${dayName(opens)} ${new Date(opens).toISOString().slice(0, 10)} ${hhmm(opens)} UTC`,
    );

    const shown = formatScheduleText(await f.fleet.scheduleStatus(name), 'Europe/Paris', Date.now());
    expect(shown).toContain(
      `  window    every site: shut, opens ${dayName(opens)} ${new Date(opens).toISOString().slice(0, 10)} ${hhmm(opens)} UTC (`,
    );

    await f.waitFor(name, (counts) => counts.applied === USERS, opens - Date.now() + 30_000);
    const starts = Array.from({ length: USERS }, (_, i) => join(f.root, `wh${i}`, 'starts.log'))
      .filter(existsSync)
      .flatMap((path) => readFileSync(path, 'utf8').trim().split('\n'))
      .map((line) => Number(line.split(' ')[0]) * 1000);
    expect(starts).toHaveLength(USERS);
    for (const at of starts) {
      // the stand-in logs whole seconds; a deploy expected to take a minute starts in the window's first minute
      expect(at).toBeGreaterThanOrEqual(opens);
      expect(at).toBeLessThan(closes - 60_000);
    }
    expect((await allUsers()).every((u) => u.parkedReason === undefined)).toBe(true);
  }, 120_000);
});

function dayName(ms: number): string {
  return ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][new Date(ms).getUTCDay()] as string;
}
