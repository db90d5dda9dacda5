import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatScheduleText } from '../../src/campaign/format-schedule-status.js';
import { countWave, judgeWave } from '../../src/rollout/wave-health.js';
import type { UserRecord } from '../../src/store/types.js';
import { createFleetFixture, csvRow, type FleetFixture } from '../helpers/fleet-fixture.js';
import { writeFault } from '../helpers/pipeline-campaign.js';

/**
 * Waves on real Redis with an agent and the POSIX stand-in: each user's wave is stored at import, the Lua enforcer
 * keeps per-wave counters in the same step as each move and halts the campaign at the failure that takes a wave
 * strictly above max_fail_percent; resume continues with exactly the users never attempted.
 */
let f: FleetFixture;
const name = 'waves-halt';
const user = (i: number) => `wv${String(i).padStart(2, '0')}`;

beforeAll(async () => {
  f = await createFleetFixture('waves-halt');
});
afterAll(() => f.close());

async function allUsers(): Promise<UserRecord[]> {
  const users: UserRecord[] = [];
  for await (const batch of f.fleet.internals.store.scanUsers(name, {})) users.push(...batch);
  return users.sort((a, b) => a.username.localeCompare(b.username));
}

async function waitUntil(check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resume) => setTimeout(resume, 50));
  }
}

describe('waves and the halt rule, live', () => {
  it('halts at the 3rd failure of a canary of 10 (20%), not at 2 of 10 in wave 2, and resumes with exactly the rest', async () => {
    // canary wv01..wv10 (3 failing hosts), wave 2 wv11..wv20 (2 failing: exactly 20%, continues), wave 3 the rest
    const rows = Array.from({ length: 30 }, (_, i) => csvRow(user(i + 1), `h${i + 1}`, i % 2 === 0 ? 'paris' : 'lyon'));
    for (const i of [1, 2, 3, 11, 12]) writeFault(f.root, `h${i}`, ['exit=77']);
    const settings = f.settings({
      deploy: { transport: 'local', local_root: f.root },
      waves: { canary: 10, size: 10, max_fail_percent: 20, soak_minutes: 0.01 },
    });
    await f.fleet.importCsv({
      source: { path: f.writeCsv('w.csv', rows) },
      campaign: name,
      settings,
      allowRejects: false,
    });
    const imported = await allUsers();
    expect(imported.map((u) => u.wave)).toEqual(rows.map((_, i) => Math.floor(i / 10) + 1));
    expect((await f.fleet.campaign(name)).waves).toMatchObject({ count: 3, open: 1 });

    await f.startAgent({ concurrency: 1 });
    await f.fleet.start(name);
    await waitUntil(async () => (await f.fleet.campaign(name)).state === 'halted');
    await f.waitFor(name, (counts) => counts.deploying === 0);
    const halted = await f.fleet.campaign(name);
    expect(halted.stateReason).toBe('wave 1: 3 of 10 users failed (30%), above max_fail_percent 20%');
    expect(halted.halt).toEqual({ wave: 1, users: expect.arrayContaining(['wv01', 'wv02', 'wv03']) });
    expect(halted.halt?.users).toHaveLength(3);

    const shown = formatScheduleText(await f.fleet.scheduleStatus(name), 'UTC', Date.now());
    expect(shown).toContain('  wave      1 of 3 · ');
    expect(shown).toContain('failure rate 30% (3 of 10) vs max_fail_percent 20%');
    expect(shown).toMatch(
      /halted {4}wave 1: 3 of 10 users failed \(30%\), above max_fail_percent 20% · failing: wv0\d, wv0\d, wv0\d/,
    );

    const atHalt = await allUsers();
    const attempted = new Map(atHalt.filter((u) => u.attempts > 0).map((u) => [u.username, u.attempts]));
    const never = atHalt.filter((u) => u.attempts === 0).map((u) => u.username);
    expect([...attempted.keys()].slice(0, 3)).toEqual(['wv01', 'wv02', 'wv03']);
    expect(never).toEqual(expect.arrayContaining(rows.slice(10).map((_, i) => user(i + 11))));
    expect(atHalt.find((u) => u.username === 'wv25')?.state).toBe('generated');

    // the per-wave counters equal a recount of the users of each wave
    const waves = await f.fleet.internals.store.waveCounts(name);
    for (const [wave, counts] of waves) {
      const recount: Record<string, number> = {};
      for (const u of atHalt.filter((x) => x.wave === wave)) recount[u.state] = (recount[u.state] ?? 0) + 1;
      expect(counts).toEqual(recount);
    }
    expect(judgeWave(countWave(waves.get(1) ?? {}), { maxFailPercent: 20, countRetryingAsFailed: false }).kind).toBe(
      'halt',
    );

    await f.fleet.resume(name);
    await f.waitForFinal(name, 30);
    const end = await allUsers();
    expect((await f.fleet.campaign(name)).state).toBe('done');
    // applied users were not deployed again, failed ones were not retried, and every never-attempted user ran once
    for (const u of end) {
      if (attempted.has(u.username)) expect(u.attempts).toBe(attempted.get(u.username));
      else expect(u.attempts).toBe(1);
    }
    expect(end.filter((u) => u.state === 'failed').map((u) => u.username)).toEqual([
      'wv01',
      'wv02',
      'wv03',
      'wv11',
      'wv12',
    ]);
    expect(end.filter((u) => u.state === 'applied')).toHaveLength(25);
  }, 90_000);
});
