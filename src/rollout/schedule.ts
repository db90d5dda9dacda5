import { DateTime, IANAZone } from 'luxon';

/**
 * Maintenance windows and start times (pure, `now` passed in). Wall-clock times are turned into instants by luxon
 * in the window's IANA zone, so DST changes move the instants, never the wall clock: `22:00-06:00` lasts 7 hours on
 * the spring-forward night and 9 on the fall-back night. A wall time that does not exist (02:30 on a spring-forward
 * day) is shifted forward by the gap (03:30); one that happens twice (01:30 on a fall-back day) is the second one.
 */

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** One recurring opening: on each listed day (the day it opens), from startMinute to endMinute (local minutes). */
export interface MaintenanceWindow {
  readonly days: readonly Weekday[];
  readonly startMinute: number;
  /** 1..1440; not after startMinute means the window ends the next day (`22:00-06:00`). */
  readonly endMinute: number;
}

/** Where and when one site may be deployed to. No windows: always open. */
export interface SiteSchedule {
  readonly timezone: string;
  readonly windows: readonly MaintenanceWindow[];
}

/** A campaign's schedule: when it may begin, its default windows and each site's own. */
export interface RolloutSchedule {
  readonly startAt?: number;
  readonly campaign: SiteSchedule;
  /** Keyed by the CSV `site` value; sites not listed follow `campaign`. */
  readonly sites: Readonly<Record<string, SiteSchedule>>;
}

/** An instant interval [start, end) during which deploys may start (adjacent and overlapping windows merged). */
export interface Opening {
  readonly start: number;
  readonly end: number;
}

const DAY_MS = 86_400_000;
/** How far ahead openings are looked for (a window may open once a week; a long holiday stop spans 2 weeks). */
export const SCHEDULE_HORIZON_MS = 30 * DAY_MS;

export function isValidTimeZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

/** `22:00-06:00` → minutes; `24:00` is allowed as an end. A string is a problem in words. */
export function parseWindowHours(text: string): { startMinute: number; endMinute: number } | string {
  const match = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(text);
  if (!match) return `"${text}": expected HH:MM-HH:MM, e.g. 22:00-06:00`;
  const [startHour, startMin, endHour, endMin] = match.slice(1).map(Number) as [number, number, number, number];
  const startMinute = startHour * 60 + startMin;
  const endMinute = endHour * 60 + endMin;
  if (startHour > 23 || startMin > 59) return `"${text}": the start must be 00:00 to 23:59`;
  if (endMin > 59 || endMinute > 1440) return `"${text}": the end must be 00:00 to 24:00`;
  // An end of 00:00 is midnight at the end of the day, like 24:00.
  const end = endMinute === 0 ? 1440 : endMinute;
  if (end === startMinute) return `"${text}": start and end are equal (use 00:00-24:00 for a whole day)`;
  return { startMinute, endMinute: end };
}

const DAY_GROUPS: Readonly<Record<string, readonly Weekday[]>> = {
  daily: WEEKDAYS,
  weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
  weekends: ['sat', 'sun'],
};

/** `[mon-fri]`, `[sat, sun]`, `[daily]`, `[weekdays]`, `[fri-mon]` (wraps) → weekdays; a string is a problem. */
export function parseDays(items: readonly string[]): Weekday[] | string {
  const days = new Set<Weekday>();
  for (const item of items) {
    const text = item.trim().toLowerCase();
    const group = DAY_GROUPS[text];
    if (group) {
      for (const day of group) days.add(day);
      continue;
    }
    const [from, to, extra] = text.split('-').map((part) => part.trim());
    const a = WEEKDAYS.indexOf(from as Weekday);
    const b = to === undefined ? a : WEEKDAYS.indexOf(to as Weekday);
    if (a < 0 || b < 0 || extra !== undefined) {
      return `"${item}": use mon tue wed thu fri sat sun, a range like mon-fri, daily, weekdays or weekends`;
    }
    for (let i = a; ; i = (i + 1) % 7) {
      days.add(WEEKDAYS[i] as Weekday);
      if (i === b) break;
    }
  }
  return WEEKDAYS.filter((day) => days.has(day));
}

/** The schedule of a user's site (the campaign's when the site has none of its own). */
export function scheduleForSite(schedule: RolloutSchedule, site: string | undefined): SiteSchedule {
  return (site !== undefined ? schedule.sites[site] : undefined) ?? schedule.campaign;
}

function localInstant(day: DateTime, minute: number, zone: string): number {
  const date = minute >= 1440 ? day.plus({ days: 1 }) : day;
  const m = minute % 1440;
  return DateTime.fromObject(
    { year: date.year, month: date.month, day: date.day, hour: Math.floor(m / 60), minute: m % 60 },
    { zone },
  ).toMillis();
}

/**
 * Openings of a site from `from` on (the one open at `from` first), in order, adjacent or overlapping windows
 * merged into one (so a deploy may run across `18:00-24:00` then `00:00-06:00`), computed a day at a time up to
 * `from + horizonMs`. An always-open site gives one opening to the horizon. With `enoughMs`, an opening is
 * yielded (cut short) as soon as that much of it lies after `from`: the deploy gate asks only "does a deploy fit",
 * and a daily 00:00-24:00 window would otherwise be merged over the whole horizon on every call.
 */
export function* openingsFrom(
  site: SiteSchedule,
  from: number,
  horizonMs = SCHEDULE_HORIZON_MS,
  enoughMs?: number,
): Generator<Opening> {
  const to = from + horizonMs;
  if (site.windows.length === 0) {
    yield { start: from, end: to };
    return;
  }
  let pending: Opening | undefined;
  // Start a day early: a window that opened yesterday evening may still be open.
  let day = DateTime.fromMillis(from - DAY_MS, { zone: site.timezone }).startOf('day');
  while (day.toMillis() < to) {
    const weekday = WEEKDAYS[day.weekday - 1] as Weekday;
    const today: Opening[] = [];
    for (const window of site.windows) {
      if (!window.days.includes(weekday)) continue;
      const start = localInstant(day, window.startMinute, site.timezone);
      const endDay = window.endMinute <= window.startMinute ? day.plus({ days: 1 }) : day;
      const end = localInstant(endDay, window.endMinute, site.timezone);
      if (end > start && end > from) today.push({ start, end });
    }
    // Windows opening on a later day start later: an opening is complete once the next one starts after it.
    today.sort((a, b) => a.start - b.start || a.end - b.end);
    for (const opening of today) {
      if (pending && opening.start <= pending.end) {
        pending = { start: pending.start, end: Math.max(pending.end, opening.end) };
        continue;
      }
      if (pending) yield pending;
      pending = opening;
    }
    if (pending && enoughMs !== undefined && pending.end - Math.max(pending.start, from) >= enoughMs) {
      yield pending;
      return;
    }
    day = day.plus({ days: 1 });
  }
  if (pending) yield pending;
}

/** Openings of a site that overlap [from, to), in order (see openingsFrom). */
export function listOpenings(site: SiteSchedule, from: number, to: number): Opening[] {
  const openings: Opening[] = [];
  if (to <= from) return openings;
  for (const opening of openingsFrom(site, from, to - from)) {
    if (opening.start >= to) break;
    openings.push(opening);
  }
  return openings;
}

export type WindowState =
  | { readonly open: true; readonly closesAt: number }
  | { readonly open: false; readonly opensAt: number | undefined };

/** Whether the site's window is open at `now`, and when it closes or next opens (within the horizon). */
export function windowStateAt(site: SiteSchedule, now: number, horizonMs = SCHEDULE_HORIZON_MS): WindowState {
  if (site.windows.length === 0) return { open: true, closesAt: Number.POSITIVE_INFINITY };
  for (const opening of openingsFrom(site, now, horizonMs)) {
    if (opening.start <= now && now < opening.end) return { open: true, closesAt: opening.end };
    if (opening.start > now) return { open: false, opensAt: opening.start };
  }
  return { open: false, opensAt: undefined };
}

/**
 * The earliest instant at or after `from` when a deploy expected to take `durationMs` may start: inside an opening
 * with at least that much of it left (`closesAt` is the opening's end, or an instant at least that far: long
 * openings are not merged to their end). Undefined when no opening within the horizon is long enough.
 */
export function findStartSlot(
  site: SiteSchedule,
  from: number,
  durationMs: number,
  horizonMs = SCHEDULE_HORIZON_MS,
): { readonly at: number; readonly closesAt: number } | undefined {
  if (site.windows.length === 0) return { at: from, closesAt: Number.POSITIVE_INFINITY };
  for (const opening of openingsFrom(site, from, horizonMs, durationMs)) {
    const at = Math.max(from, opening.start);
    if (at + durationMs <= opening.end) return { at, closesAt: opening.end };
  }
  return undefined;
}

/** `2026-12-01 22:00 Europe/Paris` (the wall clock of the zone, then the zone). */
export function formatLocal(instant: number, zone: string): string {
  return `${DateTime.fromMillis(instant, { zone }).toFormat('ccc yyyy-MM-dd HH:mm', { locale: 'en' })} ${zone}`;
}

/** `start_at`: an ISO date-time with an offset (`Z`, `+01:00`), or without one read in `zone`. */
export function parseStartAt(text: string, zone: string): number | undefined {
  const parsed = DateTime.fromISO(text, { zone, setZone: true });
  return parsed.isValid ? parsed.toMillis() : undefined;
}

/** Whether an ISO date-time names its offset (then the zone it is read in does not matter). */
export function startAtHasOffset(text: string): boolean {
  const a = parseStartAt(text, 'UTC');
  return a !== undefined && a === parseStartAt(text, 'Pacific/Kiritimati');
}

/**
 * Openings already found open, per schedule (by identity) and site: a memo, not state: the answer it gives is the
 * one the calendar gives (an opening that held `since` and lasts at least to `closesAt` holds any later instant
 * that leaves a deploy time to finish before `closesAt`).
 */
const openSeen = new WeakMap<
  RolloutSchedule,
  Map<string, { readonly since: number; readonly expectedMs: number; readonly closesAt: number }>
>();

export type ScheduleVerdict =
  | { readonly kind: 'open'; readonly closesAt: number }
  | { readonly kind: 'wait'; readonly until: number; readonly reason: string };

/**
 * Whether a deploy of a user of `site` expected to take `expectedMs` may start at `now`: after `start_at`, inside
 * the site's window, with the expected duration fitting in the time left. Otherwise the next instant it may, with
 * the reason in the site's wall clock. With no window long enough within the horizon, it waits for the next opening
 * (or a day) and says so.
 */
export function decideSchedule(
  schedule: RolloutSchedule,
  site: string | undefined,
  expectedMs: number,
  now: number,
): ScheduleVerdict {
  // An opening found open at an earlier `now` still holds a deploy as long as it fits before that opening's known
  // end: the same answer, without the calendar walk (luxon) on every deploy of a night.
  const sites = openSeen.get(schedule);
  const seen = sites?.get(site ?? '');
  if (seen && seen.expectedMs === expectedMs && now >= seen.since && now + expectedMs <= seen.closesAt) {
    return { kind: 'open', closesAt: seen.closesAt };
  }
  const own = scheduleForSite(schedule, site);
  const from = Math.max(now, schedule.startAt ?? now);
  const slot = findStartSlot(own, from, expectedMs);
  if (slot && slot.at <= now) {
    if (sites) sites.set(site ?? '', { since: now, expectedMs, closesAt: slot.closesAt });
    else openSeen.set(schedule, new Map([[site ?? '', { since: now, expectedMs, closesAt: slot.closesAt }]]));
    return { kind: 'open', closesAt: slot.closesAt };
  }
  const zone = own.timezone;
  const minutes = Math.ceil(expectedMs / 60_000);
  if (!slot) {
    const state = windowStateAt(own, from);
    const until = state.open ? from + DAY_MS : (state.opensAt ?? from + DAY_MS);
    return {
      kind: 'wait',
      until,
      reason: `no maintenance window in the next ${SCHEDULE_HORIZON_MS / DAY_MS} days is long enough for a deploy of ~${minutes} min`,
    };
  }
  if (schedule.startAt !== undefined && now < schedule.startAt) {
    return { kind: 'wait', until: slot.at, reason: `campaign starts at ${formatLocal(schedule.startAt, zone)}` };
  }
  const state = windowStateAt(own, now);
  if (state.open) {
    return {
      kind: 'wait',
      until: slot.at,
      reason: `window closes at ${formatLocal(state.closesAt, zone)}, too soon for a deploy of ~${minutes} min: next opening ${formatLocal(slot.at, zone)}`,
    };
  }
  return {
    kind: 'wait',
    until: slot.at,
    reason: `outside the maintenance window: opens ${formatLocal(slot.at, zone)}`,
  };
}

/** A deploy's expected duration: the measured estimate, never below the floor (nor below a minute). */
export function expectedDeployMs(estimateMs: number | undefined, floorMs: number | undefined): number {
  return Math.max(60_000, floorMs ?? 0, estimateMs ?? 0);
}

/** `mon-fri 22:00-06:00`, `daily 00:00-24:00`, `sat,sun 08:00-20:00`. */
export function describeWindow(window: MaintenanceWindow): string {
  const hhmm = (minute: number) =>
    `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
  return `${describeDays(window.days)} ${hhmm(window.startMinute)}-${hhmm(window.endMinute)}`;
}

function describeDays(days: readonly Weekday[]): string {
  if (days.length === 7) return 'daily';
  const runs: string[] = [];
  let i = 0;
  while (i < WEEKDAYS.length) {
    if (!days.includes(WEEKDAYS[i] as Weekday)) {
      i += 1;
      continue;
    }
    let j = i;
    while (j + 1 < WEEKDAYS.length && days.includes(WEEKDAYS[j + 1] as Weekday)) j += 1;
    runs.push(j - i >= 2 ? `${WEEKDAYS[i]}-${WEEKDAYS[j]}` : WEEKDAYS.slice(i, j + 1).join(','));
    i = j + 1;
  }
  return runs.join(',');
}
