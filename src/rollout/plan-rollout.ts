import {
  expectedDeployMs,
  listOpenings,
  type Opening,
  type RolloutSchedule,
  type SiteSchedule,
  scheduleForSite,
} from './schedule.js';
import { assignWaves, type WavePlanSettings } from './waves.js';

/**
 * The dry run of a rollout (pure, `now` passed in): waves and their users per site, each site's next openings,
 * and an estimated finish. The estimate simulates the agents: deploys of `perUserMs` each, at most `concurrency`
 * at once (and `perSiteCap` per site, `siteCaps` for named sites), a deploy starting only inside its site's window with its expected duration
 * left, a wave starting when the previous one has finished plus the soak time. It assumes every deploy succeeds
 * at its first attempt (retries, halts and admins' pauses only make it later).
 */

export interface PlanUser {
  readonly username: string;
  readonly site?: string;
}

export interface PlanInput {
  readonly users: readonly PlanUser[];
  /** Absent: one wave with everyone, in CSV order. */
  readonly waves?: WavePlanSettings;
  readonly soakMs: number;
  /** Absent: always open, starting now. */
  readonly schedule?: RolloutSchedule;
  /** How long one user's deploy takes (measured or configured). */
  readonly perUserMs: number;
  /** Floor of a deploy's expected duration for the fits-in-the-window test (`schedule.min_deploy_minutes`). */
  readonly minDeployMs?: number;
  /** Deploys in flight at once across every agent. */
  readonly concurrency: number;
  readonly perSiteCap?: number;
  /** Caps of named sites (campaign `caps.sites`): they win over `perSiteCap` for their site. */
  readonly siteCaps?: Readonly<Record<string, number>>;
  readonly now: number;
  /** Openings listed per site (default 3). */
  readonly openingsPerSite?: number;
  /** How far the simulation looks (default 120 days): users it cannot place by then are `unplaced`. */
  readonly horizonMs?: number;
}

export interface PlannedSiteUsers {
  /** The CSV site value; '' for users with no site. */
  readonly site: string;
  readonly usernames: readonly string[];
}

export interface PlannedWave {
  readonly number: number;
  readonly canary: boolean;
  readonly users: number;
  readonly sites: readonly PlannedSiteUsers[];
  /** First deploy of the wave; absent when none could be placed within the horizon. */
  readonly startsAt?: number;
  /** Last deploy of the wave ends; absent when some of its users could not be placed. */
  readonly finishesAt?: number;
}

export interface PlannedSite {
  readonly site: string;
  readonly users: number;
  readonly schedule: SiteSchedule;
  readonly nextOpenings: readonly Opening[];
}

export interface RolloutPlan {
  readonly users: number;
  readonly waves: readonly PlannedWave[];
  readonly sites: readonly PlannedSite[];
  /** When the campaign may begin (start_at, or now). */
  readonly startsAt: number;
  /** Estimated end of the last deploy; absent when some users cannot be placed within the horizon. */
  readonly finishAt?: number;
  readonly unplaced: number;
  readonly perUserMs: number;
  readonly concurrency: number;
  readonly perSiteCap?: number;
  readonly siteCaps?: Readonly<Record<string, number>>;
  /** The zone the campaign's times are shown in. */
  readonly timezone: string;
}

const DAY_MS = 86_400_000;
const ALWAYS_OPEN: SiteSchedule = Object.freeze({ timezone: 'UTC', windows: Object.freeze([]) });

/** The earliest start ≥ t inside an opening with `fitMs` left, in a sorted list of openings. */
function nextStart(openings: readonly Opening[], t: number, fitMs: number): number | undefined {
  let lo = 0;
  let hi = openings.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((openings[mid] as Opening).end <= t) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < openings.length; i += 1) {
    const opening = openings[i] as Opening;
    const at = Math.max(t, opening.start);
    if (at + fitMs <= opening.end) return at;
  }
  return undefined;
}

interface WaveRun {
  readonly startsAt?: number;
  readonly finishesAt?: number;
  readonly placed: number;
}

/** Simulates one wave from `t`: members (indices into users) in rollout order. */
function simulateWave(
  members: readonly number[],
  users: readonly PlanUser[],
  openingsOf: (site: string) => readonly Opening[],
  input: PlanInput,
  fitMs: number,
  t0: number,
): WaveRun {
  const queues = new Map<string, number[]>();
  members.forEach((index, position) => {
    const site = users[index]?.site ?? '';
    const queue = queues.get(site) ?? [];
    queue.push(position);
    queues.set(site, queue);
  });
  const heads = new Map<string, number>([...queues.keys()].map((site) => [site, 0]));
  const ends: { end: number; site: string }[] = [];
  let endHead = 0;
  const runningBySite = new Map<string, number>();
  const capOf = (site: string) => input.siteCaps?.[site] ?? input.perSiteCap ?? Number.POSITIVE_INFINITY;
  let pending = members.length;
  let t = t0;
  let startsAt: number | undefined;
  while (pending > 0) {
    while (endHead < ends.length && (ends[endHead] as { end: number }).end <= t) {
      const done = ends[endHead++] as { site: string };
      runningBySite.set(done.site, (runningBySite.get(done.site) ?? 1) - 1);
    }
    // Start what may start now, in rollout order across the sites that are open.
    for (;;) {
      if (ends.length - endHead >= input.concurrency) break;
      let best: string | undefined;
      let bestPosition = Number.POSITIVE_INFINITY;
      for (const [site, queue] of queues) {
        const head = heads.get(site) ?? 0;
        if (head >= queue.length || (runningBySite.get(site) ?? 0) >= capOf(site)) continue;
        if (nextStart(openingsOf(site), t, fitMs) !== t) continue;
        if ((queue[head] as number) < bestPosition) {
          best = site;
          bestPosition = queue[head] as number;
        }
      }
      if (best === undefined) break;
      heads.set(best, (heads.get(best) ?? 0) + 1);
      ends.push({ end: t + input.perUserMs, site: best });
      runningBySite.set(best, (runningBySite.get(best) ?? 0) + 1);
      startsAt ??= t;
      pending -= 1;
    }
    if (pending === 0) break;
    let next = endHead < ends.length ? (ends[endHead] as { end: number }).end : Number.POSITIVE_INFINITY;
    for (const [site, queue] of queues) {
      if ((heads.get(site) ?? 0) >= queue.length) continue;
      const at = nextStart(openingsOf(site), t, fitMs);
      if (at !== undefined && at > t) next = Math.min(next, at);
    }
    if (!Number.isFinite(next)) break; // nothing running and no site opens again within the horizon
    t = next;
  }
  const placed = members.length - pending;
  const last = ends[ends.length - 1];
  return {
    ...(startsAt !== undefined && { startsAt }),
    ...(pending === 0 && last && { finishesAt: last.end }),
    placed,
  };
}

export function planRollout(input: PlanInput): RolloutPlan {
  const { users, schedule } = input;
  const horizon = input.horizonMs ?? 120 * DAY_MS;
  const startsAt = Math.max(input.now, schedule?.startAt ?? input.now);
  const fitMs = expectedDeployMs(input.perUserMs, input.minDeployMs);
  const siteOf = (site: string) => (schedule ? scheduleForSite(schedule, site === '' ? undefined : site) : ALWAYS_OPEN);
  const openingCache = new Map<string, readonly Opening[]>();
  const openingsOf = (site: string): readonly Opening[] => {
    let openings = openingCache.get(site);
    if (!openings) {
      openings = listOpenings(siteOf(site), startsAt, startsAt + horizon);
      openingCache.set(site, openings);
    }
    return openings;
  };

  const assignment = assignWaves(users, input.waves ?? { order: 'csv', seed: '' });
  const waves: PlannedWave[] = [];
  let position = 0;
  let t = startsAt;
  let unplaced = 0;
  let finishAt: number | undefined = startsAt;
  for (const [i, size] of assignment.sizes.entries()) {
    const members = assignment.order.slice(position, position + size);
    position += size;
    const bySite = new Map<string, string[]>();
    for (const index of members) {
      const user = users[index] as PlanUser;
      const list = bySite.get(user.site ?? '') ?? [];
      list.push(user.username);
      bySite.set(user.site ?? '', list);
    }
    const run: WaveRun =
      finishAt === undefined ? { placed: 0 } : simulateWave(members, users, openingsOf, input, fitMs, t);
    unplaced += members.length - run.placed;
    finishAt = run.finishesAt;
    if (run.finishesAt !== undefined) t = run.finishesAt + input.soakMs;
    waves.push({
      number: i + 1,
      canary: assignment.canary && i === 0,
      users: members.length,
      sites: [...bySite].map(([site, usernames]) => ({ site, usernames })),
      ...(run.startsAt !== undefined && { startsAt: run.startsAt }),
      ...(run.finishesAt !== undefined && { finishesAt: run.finishesAt }),
    });
  }

  const counts = new Map<string, number>();
  for (const user of users) counts.set(user.site ?? '', (counts.get(user.site ?? '') ?? 0) + 1);
  const wanted = input.openingsPerSite ?? 3;
  const sites: PlannedSite[] = [...counts].map(([site, count]) => {
    const own = siteOf(site);
    const nextOpenings =
      own.windows.length === 0 ? [] : listOpenings(own, input.now, input.now + 60 * DAY_MS).slice(0, wanted);
    return { site, users: count, schedule: own, nextOpenings };
  });

  return {
    users: users.length,
    waves,
    sites,
    startsAt,
    ...(finishAt !== undefined && users.length > 0 && { finishAt }),
    unplaced,
    perUserMs: input.perUserMs,
    concurrency: input.concurrency,
    ...(input.perSiteCap !== undefined && { perSiteCap: input.perSiteCap }),
    ...(input.siteCaps !== undefined && Object.keys(input.siteCaps).length > 0 && { siteCaps: input.siteCaps }),
    timezone: schedule?.campaign.timezone ?? 'UTC',
  };
}
