import { FAILED_USER_STATES, type UserState } from '../rollout/states.js';
import type { RecordStore, UserRecord } from '../store/types.js';
import { requireCampaign } from './start-campaign.js';

/** Users read at most to break failures down (a page of the failed-state indexes at a time, never all at once). */
const MAX_SCANNED = 50_000;
const BATCH = 1_000;
const TOP = 20;

export interface FailureCount {
  readonly key: string;
  readonly users: number;
}

/** Failed and still-retrying users by cause: the error code (the underlying one when attempts ran out), site, host. */
export interface FailureBreakdown {
  readonly users: number;
  readonly byCode: readonly FailureCount[];
  readonly bySite: readonly FailureCount[];
  /** The 20 hosts with the most failed users. */
  readonly byHost: readonly FailureCount[];
  /** More than MAX_SCANNED users failed: the figures cover the first ones only. */
  readonly truncated: boolean;
}

export interface CampaignInsights {
  /** Users reaching a final state per minute, oldest first, over the last `minutes` of activity. */
  readonly perMinute: ReadonlyArray<readonly [number, number]>;
  readonly failures: FailureBreakdown;
  /** Why the campaign halted itself (or was halted), while it is halted. */
  readonly haltReason?: string;
}

/** The campaign page's charts: throughput over time from the per-minute counters, failures by cause. */
export async function campaignInsights(
  store: RecordStore,
  name: string,
  now: number,
  minutes = 60,
): Promise<CampaignInsights> {
  const campaign = await requireCampaign(store, name);
  const end = campaign.finishedAt ?? now;
  const [perMinute, failures] = await Promise.all([
    store.completionsPerMinute(name, minutes, end),
    breakDownFailures(store, name, [...FAILED_USER_STATES, 'retrying']),
  ]);
  return {
    perMinute,
    failures,
    ...(campaign.state === 'halted' && { haltReason: campaign.stateReason }),
  };
}

async function breakDownFailures(
  store: RecordStore,
  name: string,
  states: readonly UserState[],
): Promise<FailureBreakdown> {
  const byCode = new Map<string, number>();
  const bySite = new Map<string, number>();
  const byHost = new Map<string, number>();
  let users = 0;
  let truncated = false;
  const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  const count = (user: UserRecord) => {
    users += 1;
    add(byCode, user.lastError?.cause ?? user.lastError?.code ?? 'unknown');
    add(bySite, user.site ?? '(no site)');
    add(byHost, user.host ?? user.spec.host ?? '(no host)');
  };
  scan: for (const state of states) {
    for await (const batch of store.scanUsers(name, { state }, BATCH)) {
      for (const user of batch) {
        if (users >= MAX_SCANNED) {
          truncated = true;
          break scan;
        }
        count(user);
      }
    }
  }
  return { users, byCode: top(byCode), bySite: top(bySite), byHost: top(byHost, TOP), truncated };
}

function top(map: Map<string, number>, limit = Number.POSITIVE_INFINITY): FailureCount[] {
  return [...map]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, limit)
    .map(([key, users]) => ({ key, users }));
}
