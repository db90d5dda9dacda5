import { describe, expect, it } from 'vitest';
import {
  decideSchedule,
  listOpenings,
  type MaintenanceWindow,
  parseDays,
  parseStartAt,
  parseWindowHours,
  type RolloutSchedule,
  type SiteSchedule,
  windowStateAt,
} from '../../src/rollout/schedule.js';

const at = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;
const MIN = 60_000;

function window(days: string[], hours: string): MaintenanceWindow {
  const d = parseDays(days);
  const h = parseWindowHours(hours);
  if (typeof d === 'string' || typeof h === 'string') throw new Error(`${d} ${h}`);
  return { days: d, ...h };
}
const site = (timezone: string, ...windows: MaintenanceWindow[]): SiteSchedule => ({ timezone, windows });
const nightly = (timezone: string) => site(timezone, window(['daily'], '22:00-06:00'));
const weeknights = (timezone: string) => site(timezone, window(['mon-fri'], '22:00-06:00'));

describe('maintenance windows', () => {
  it('opens at 22:00 and closes at 06:00 the next morning (a window crossing midnight)', () => {
    const paris = weeknights('Europe/Paris');
    // Tuesday 8 December 2026, 23:00 in Paris (CET, UTC+1).
    expect(windowStateAt(paris, at('2026-12-08T22:00:00Z'))).toEqual({
      open: true,
      closesAt: at('2026-12-09T05:00:00Z'),
    });
    // After midnight, still the window that opened on Tuesday.
    expect(windowStateAt(paris, at('2026-12-09T03:00:00Z'))).toEqual({
      open: true,
      closesAt: at('2026-12-09T05:00:00Z'),
    });
    // Noon: closed until 22:00.
    expect(windowStateAt(paris, at('2026-12-09T11:00:00Z'))).toEqual({
      open: false,
      opensAt: at('2026-12-09T21:00:00Z'),
    });
    // 06:00 itself is closed (the end is exclusive), 22:00 itself open.
    expect(windowStateAt(paris, at('2026-12-09T05:00:00Z')).open).toBe(false);
    expect(windowStateAt(paris, at('2026-12-09T21:00:00Z')).open).toBe(true);
  });

  it('keeps a weekday-only window shut over the weekend, Friday night running into Saturday morning', () => {
    const paris = weeknights('Europe/Paris');
    // Saturday 12 December 03:00 Paris: Friday's window is still open.
    expect(windowStateAt(paris, at('2026-12-12T02:00:00Z'))).toEqual({
      open: true,
      closesAt: at('2026-12-12T05:00:00Z'),
    });
    // Saturday 23:00 and Sunday 23:00: closed until Monday 14 December 22:00.
    expect(windowStateAt(paris, at('2026-12-12T22:00:00Z'))).toEqual({
      open: false,
      opensAt: at('2026-12-14T21:00:00Z'),
    });
    expect(windowStateAt(paris, at('2026-12-13T22:00:00Z'))).toEqual({
      open: false,
      opensAt: at('2026-12-14T21:00:00Z'),
    });
  });

  it('follows the wall clock across DST in Europe/Paris: 7 hours on spring-forward night, 9 on fall-back night', () => {
    const paris = nightly('Europe/Paris');
    // 29 March 2026: 02:00 CET becomes 03:00 CEST.
    const spring = listOpenings(paris, at('2026-03-28T12:00:00Z'), at('2026-03-29T12:00:00Z'));
    expect(spring).toEqual([{ start: at('2026-03-28T21:00:00Z'), end: at('2026-03-29T04:00:00Z') }]);
    expect((spring[0]!.end - spring[0]!.start) / HOUR).toBe(7);
    // 25 October 2026: 03:00 CEST becomes 02:00 CET.
    const fall = listOpenings(paris, at('2026-10-24T12:00:00Z'), at('2026-10-25T12:00:00Z'));
    expect(fall).toEqual([{ start: at('2026-10-24T20:00:00Z'), end: at('2026-10-25T05:00:00Z') }]);
    expect((fall[0]!.end - fall[0]!.start) / HOUR).toBe(9);
  });

  it('follows the wall clock across DST in America/New_York (8 March and 1 November 2026)', () => {
    const ny = nightly('America/New_York');
    const spring = listOpenings(ny, at('2026-03-07T17:00:00Z'), at('2026-03-08T17:00:00Z'));
    expect(spring).toEqual([{ start: at('2026-03-08T03:00:00Z'), end: at('2026-03-08T10:00:00Z') }]);
    const fall = listOpenings(ny, at('2026-10-31T17:00:00Z'), at('2026-11-01T17:00:00Z'));
    expect(fall).toEqual([{ start: at('2026-11-01T02:00:00Z'), end: at('2026-11-01T11:00:00Z') }]);
    // The day after, the window is 8 hours again, at the new offset (EST, UTC-5).
    expect(windowStateAt(ny, at('2026-11-02T04:00:00Z'))).toEqual({ open: true, closesAt: at('2026-11-02T11:00:00Z') });
  });

  it('moves a boundary that does not exist (spring-forward gap) forward by the gap, and takes the second of a repeated one', () => {
    // 02:30 does not exist in Paris on 29 March 2026: the window starts at 03:30 CEST (01:30Z).
    const gap = site('Europe/Paris', window(['sun'], '02:30-04:00'));
    expect(listOpenings(gap, at('2026-03-29T00:00:00Z'), at('2026-03-29T12:00:00Z'))).toEqual([
      { start: at('2026-03-29T01:30:00Z'), end: at('2026-03-29T02:00:00Z') },
    ]);
    // 01:30 happens twice in New York on 1 November 2026: the second one (EST, 06:30Z).
    const twice = site('America/New_York', window(['sun'], '01:30-03:00'));
    expect(listOpenings(twice, at('2026-11-01T00:00:00Z'), at('2026-11-01T12:00:00Z'))).toEqual([
      { start: at('2026-11-01T06:30:00Z'), end: at('2026-11-01T08:00:00Z') },
    ]);
  });

  it('merges back-to-back windows into one opening, so a deploy may run across them', () => {
    const split = site('UTC', window(['daily'], '18:00-24:00'), window(['daily'], '00:00-06:00'));
    expect(windowStateAt(split, at('2026-12-08T23:30:00Z'))).toEqual({
      open: true,
      closesAt: at('2026-12-09T06:00:00Z'),
    });
  });

  it('treats a site without windows as always open', () => {
    expect(windowStateAt(site('UTC'), at('2026-12-08T12:00:00Z')).open).toBe(true);
  });
});

describe('decideSchedule', () => {
  const schedule: RolloutSchedule = {
    campaign: weeknights('Europe/Paris'),
    sites: { newyork: weeknights('America/New_York') },
  };

  it('starts a deploy that fits in the time left, and parks one that does not until the next opening', () => {
    // Wednesday 9 December 05:50 Paris: 10 minutes left.
    const now = at('2026-12-09T04:50:00Z');
    expect(decideSchedule(schedule, 'paris', 5 * MIN, now)).toEqual({
      kind: 'open',
      closesAt: at('2026-12-09T05:00:00Z'),
    });
    const late = decideSchedule(schedule, 'paris', 15 * MIN, now);
    expect(late).toEqual({
      kind: 'wait',
      until: at('2026-12-09T21:00:00Z'),
      reason:
        'window closes at Wed 2026-12-09 06:00 Europe/Paris, too soon for a deploy of ~15 min: next opening Wed 2026-12-09 22:00 Europe/Paris',
    });
  });

  it('answers for each site in its own zone (two sites, two zones)', () => {
    // 23:30 in Paris is 17:30 in New York.
    const now = at('2026-12-08T22:30:00Z');
    expect(decideSchedule(schedule, 'paris', 5 * MIN, now).kind).toBe('open');
    expect(decideSchedule(schedule, undefined, 5 * MIN, now).kind).toBe('open');
    expect(decideSchedule(schedule, 'newyork', 5 * MIN, now)).toEqual({
      kind: 'wait',
      until: at('2026-12-09T03:00:00Z'),
      reason: 'outside the maintenance window: opens Tue 2026-12-08 22:00 America/New_York',
    });
    // At 04:00 Paris (22:00 New York) both are open.
    expect(decideSchedule(schedule, 'newyork', 5 * MIN, at('2026-12-09T03:00:00Z')).kind).toBe('open');
  });

  it('waits for start_at, then for the first opening after it', () => {
    const startAt = parseStartAt('2026-12-09T00:30:00', 'Europe/Paris')!;
    expect(startAt).toBe(at('2026-12-08T23:30:00Z'));
    const withStart = { ...schedule, startAt };
    expect(decideSchedule(withStart, 'paris', 5 * MIN, at('2026-12-08T22:00:00Z'))).toEqual({
      kind: 'wait',
      until: startAt,
      reason: 'campaign starts at Wed 2026-12-09 00:30 Europe/Paris',
    });
    expect(decideSchedule(withStart, 'paris', 5 * MIN, startAt).kind).toBe('open');
    // A start in the afternoon waits for the evening window.
    const noon = { ...schedule, startAt: at('2026-12-09T11:00:00Z') };
    expect(decideSchedule(noon, 'paris', 5 * MIN, at('2026-12-09T10:00:00Z'))).toMatchObject({
      kind: 'wait',
      until: at('2026-12-09T21:00:00Z'),
    });
  });

  it('says so when no window is ever long enough for a deploy', () => {
    const short = { campaign: site('UTC', window(['daily'], '22:00-22:10')), sites: {} };
    expect(decideSchedule(short, undefined, 15 * MIN, at('2026-12-09T12:00:00Z'))).toMatchObject({
      kind: 'wait',
      until: at('2026-12-09T22:00:00Z'),
      reason: expect.stringContaining('is long enough for a deploy of ~15 min'),
    });
  });
});

describe('window settings', () => {
  it('reads hours and days, and explains what it refuses', () => {
    expect(parseWindowHours('22:00-06:00')).toEqual({ startMinute: 1320, endMinute: 360 });
    expect(parseWindowHours('00:00-24:00')).toEqual({ startMinute: 0, endMinute: 1440 });
    expect(parseWindowHours('20:00-00:00')).toEqual({ startMinute: 1200, endMinute: 1440 });
    expect(parseWindowHours('22h-6h')).toContain('expected HH:MM-HH:MM');
    expect(parseWindowHours('25:00-06:00')).toContain('start must be');
    expect(parseWindowHours('06:00-06:00')).toContain('equal');
    expect(parseDays(['mon-fri'])).toEqual(['mon', 'tue', 'wed', 'thu', 'fri']);
    expect(parseDays(['fri-mon'])).toEqual(['mon', 'fri', 'sat', 'sun']);
    expect(parseDays(['weekends', 'wed'])).toEqual(['wed', 'sat', 'sun']);
    expect(parseDays(['monday'])).toContain('use mon tue');
  });
});

describe('maintenance windows against the wall clock (property)', () => {
  it('is open exactly when the local time of the zone is inside 22:00-06:00, every day of the year, in every zone', async () => {
    const fc = await import('fast-check');
    const { DateTime } = await import('luxon');
    const zones = ['Europe/Paris', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'UTC'];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: at('2026-01-01T00:00:00Z'), max: at('2027-01-01T00:00:00Z') }),
        (zone, instant) => {
          const state = windowStateAt(nightly(zone), instant);
          const local = DateTime.fromMillis(instant, { zone });
          expect(state.open).toBe(local.hour >= 22 || local.hour < 6);
          // The window closes at 06:00 or opens at 22:00 on the wall clock.
          const next = DateTime.fromMillis(state.open ? state.closesAt : (state.opensAt as number), { zone });
          expect(next.toFormat('HH:mm')).toBe(state.open ? '06:00' : '22:00');
          expect((state.open ? state.closesAt : (state.opensAt as number)) - instant).toBeLessThanOrEqual(17 * HOUR);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers the same when asked again and again through a night (its memo of open windows) as when asked afresh', () => {
    // One schedule object asked every 7 minutes for two days, in two zones, with the deploy estimate changing: each
    // answer equals the one for a structurally equal schedule never asked before (no memo).
    const asked: RolloutSchedule = {
      campaign: weeknights('Europe/Paris'),
      sites: { newyork: weeknights('America/New_York') },
    };
    const start = at('2026-12-08T18:00:00Z');
    let opens = 0;
    let waits = 0;
    for (let now = start; now < start + 2 * 24 * 60 * MIN; now += 7 * MIN) {
      for (const where of ['paris', 'newyork']) {
        const expected = (now / (7 * MIN)) % 3 === 0 ? 15 * MIN : 5 * MIN;
        const fresh: RolloutSchedule = structuredClone(asked);
        const answer = decideSchedule(asked, where, expected, now);
        expect(answer.kind, `${where} ${new Date(now).toISOString()}`).toBe(
          decideSchedule(fresh, where, expected, now).kind,
        );
        if (answer.kind === 'open') opens += 1;
        else waits += 1;
      }
    }
    expect(opens).toBeGreaterThan(50);
    expect(waits).toBeGreaterThan(50);
  });
});
