import { describe, expect, it } from 'vitest';
import type { CampaignStatus } from '../../src/campaign/campaign-status.js';
import { formatClock } from '../../src/campaign/format-insights.js';
import { formatStatusText } from '../../src/campaign/format-status.js';
import type { FleetStatus } from '../../src/campaign/status-insights.js';
import { campaignFileSchema } from '../../src/config/campaign-schema.js';
import { USER_STATES, type UserState } from '../../src/rollout/states.js';

const NOW = Date.UTC(2026, 10, 30, 6, 0, 0);

function status(
  overrides: Partial<Omit<CampaignStatus, 'counts'>> & { counts?: Partial<Record<UserState, number>> } = {},
) {
  const counts = Object.fromEntries(USER_STATES.map((s) => [s, 0])) as Record<UserState, number>;
  Object.assign(counts, overrides.counts);
  const { counts: _c, campaign, ...rest } = overrides;
  return {
    campaign: {
      name: 'w1',
      state: 'running',
      stateReason: 'started',
      csvFile: 'u.csv',
      csvSha256: '',
      settings: campaignFileSchema.parse({}),
      imports: 1,
      totalUsers: 10,
      rejectedRows: 0,
      createdAt: NOW - 60_000,
      updatedAt: NOW,
      startedAt: NOW - 2_000,
      ...campaign,
    },
    counts,
    total: 10,
    finished: 0,
    inFlight: 10,
    importAlive: false,
    jobs: {},
    throughputPerMinute: 0,
    windowMinutes: 0,
    perMinute: [],
    ...rest,
  } as CampaignStatus;
}

function insights(base: CampaignStatus, extra: Partial<FleetStatus> = {}): FleetStatus {
  return {
    ...base,
    failures: { total: 0, sampled: 0, byCode: [], bySite: [], topHosts: [] },
    backoff: { waiting: 0 },
    agents: [],
    servedBy: [],
    unserved: false,
    startAgentHint: 'fleet-rollout agent',
    ...extra,
  };
}

const paceOf = (text: string) => text.split('\n').find((line) => line.startsWith('  pace'));

describe('status pace line', () => {
  it('a draft was never started: no "0.0 users/min over 10m"', () => {
    const draft = status({ campaign: { state: 'draft', startedAt: undefined } as never, windowMinutes: 10 });
    expect(paceOf(formatStatusText(draft, NOW))).toBe('  pace      not started');
  });

  it('a campaign started seconds ago says it is measuring, never "over 0s"', () => {
    expect(paceOf(formatStatusText(status(), NOW))).toBe('  pace      measuring (no user finished yet)');
    const quick = status({ throughputPerMinute: 30, windowMinutes: 0.01, etaSeconds: 20 });
    expect(paceOf(formatStatusText(quick, NOW))).toBe('  pace      30.0 users/min over 1s · ETA 20s');
  });

  it('a stalled campaign says nobody finished lately', () => {
    expect(paceOf(formatStatusText(status({ windowMinutes: 10 }), NOW))).toBe(
      '  pace      no user finished in the last 10m 00s',
    );
  });

  it('users waiting for a retry are shown apart from the ETA', () => {
    const base = status({ throughputPerMinute: 6, windowMinutes: 5, etaSeconds: 80, counts: { retrying: 2 } });
    const text = formatStatusText(
      insights(base, { backoff: { waiting: 2, nextAt: NOW + 60_000, lastAt: NOW + 3_600_000 } }),
      NOW,
    );
    expect(paceOf(text)).toBe(
      '  pace      6.0 users/min over 5m 00s · ETA 1m 20s (not counting the 2 waiting for retry)',
    );
    expect(text).toContain('  retry     2 user(s) waiting for retry until 07:00:00 UTC (next at 06:01:00 UTC)');
  });
});

describe('status failures and agents', () => {
  it('lists top causes, sites and hosts, and says when the breakdown is partial', () => {
    const failures = {
      total: 12_000,
      sampled: 10_000,
      byCode: [
        { value: 'FR_ERR_SSH_AUTH', count: 9_000 },
        { value: 'FR_ERR_REMOTE_PERMISSION', count: 1_000 },
      ],
      bySite: [{ value: 'lyon', count: 10_000 }],
      topHosts: [{ value: 'ws-1', count: 3 }],
    };
    const text = formatStatusText(insights(status(), { failures }), NOW);
    expect(text).toContain('  failures  12000 failed · causes: FR_ERR_SSH_AUTH 9000 · FR_ERR_REMOTE_PERMISSION 1000\n');
    expect(text).toContain('            by site: lyon 10000\n            top hosts: ws-1 3\n');
    expect(text).toContain('(breakdown of the latest 10000 of 12000 failed users)');
  });

  it('says no agent serves a campaign with work, and shows the agents serving others', () => {
    const agent = {
      id: 'h1:42',
      hostname: 'h1',
      pid: 42,
      version: '0.1.0',
      startedAt: NOW - 60_000,
      seenAt: NOW - 2_000,
      campaigns: ['other'],
      roles: ['generate', 'deploy'],
      transports: ['local'],
      concurrency: 20,
      generateConcurrency: 2,
      intervalMs: 5_000,
    };
    const text = formatStatusText(insights(status(), { agents: [agent], unserved: true }), NOW);
    expect(text).toContain(
      '  agents    no agent is serving this campaign — start one with `fleet-rollout agent`\n' +
        '            alive but serving other campaigns or transports:\n' +
        '            h1:42 · serves other · generate+deploy · local · concurrency 20 · v0.1.0 · seen 2s ago\n',
    );
  });

  it('writes times of day in UTC, with the date when far away', () => {
    expect(formatClock(NOW + 90_000, NOW)).toBe('06:01:30 UTC');
    expect(formatClock(NOW + 2 * 86_400_000, NOW)).toBe('2026-12-02 06:00:00 UTC');
  });
});
