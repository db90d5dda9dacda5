import type { AgentHeartbeat } from '../store/agent-heartbeats.js';
import type { CountedValue, FailureSummary } from '../store/failure-summary.js';
import type { CampaignStatus, CampaignSummary } from './campaign-status.js';
import type { FleetCampaignSummary, FleetStatus } from './status-insights.js';

/** The status lines about pace, failures, retries and agents (kept apart from format-status.ts: one job each). */

const SHOWN = 5;
const AGENTS_SHOWN = 10;
const INDENT = ' '.repeat(12);

export function hasInsights(status: CampaignStatus): status is FleetStatus {
  return 'failures' in status && 'agents' in status;
}

/**
 * `12.0 users/min over 4m 10s · ETA 3m`, or why there is no pace yet: a draft was never started, and a campaign
 * started seconds ago has nothing to average (no "0.0 over 0s").
 */
export function formatPace(status: CampaignStatus, formatDuration: (seconds: number) => string): string {
  const { campaign } = status;
  if (campaign.startedAt === undefined) return 'not started';
  const seconds = Math.max(1, Math.round(status.windowMinutes * 60));
  let pace: string;
  if (status.throughputPerMinute > 0) {
    pace = `${status.throughputPerMinute.toFixed(1)} users/min over ${formatDuration(seconds)}`;
  } else if (campaign.finishedAt === undefined && seconds < 60) {
    pace = 'measuring (no user finished yet)';
  } else {
    pace = `no user finished in the last ${formatDuration(seconds)}`;
  }
  if (status.etaSeconds !== undefined) pace += ` · ETA ${formatDuration(status.etaSeconds)}`;
  if (hasInsights(status) && status.backoff.waiting > 0 && status.etaSeconds !== undefined) {
    pace += ` (not counting the ${status.backoff.waiting} waiting for retry)`;
  }
  return pace;
}

/** The lines `status` prints after the counts: retries waiting, failures, agents. */
export function formatInsightLines(status: FleetStatus, now: number): string[] {
  return [...formatBackoff(status, now), ...formatFailures(status.failures), ...formatAgents(status, now)];
}

function formatBackoff(status: FleetStatus, now: number): string[] {
  const { waiting, nextAt, lastAt } = status.backoff;
  if (waiting === 0 || lastAt === undefined) return [];
  const next = nextAt !== undefined && nextAt !== lastAt ? ` (next at ${formatClock(nextAt, now)})` : '';
  return [`  retry     ${waiting} user(s) waiting for retry until ${formatClock(lastAt, now)}${next}`];
}

export function formatFailures(failures: FailureSummary | undefined, indent = '  '): string[] {
  if (!failures || failures.total === 0) return [];
  if (failures.sampled === 0) return [`${indent}failures  ${failures.total} failed`];
  const pad = indent + INDENT.slice(2);
  const lines = [
    `${indent}failures  ${failures.total} failed · causes: ${formatCounted(failures.byCode)}`,
    `${pad}by site: ${formatCounted(failures.bySite)}`,
  ];
  if (failures.topHosts.length > 0) lines.push(`${pad}top hosts: ${formatCounted(failures.topHosts)}`);
  if (failures.sampled < failures.total) {
    lines.push(`${pad}(breakdown of the latest ${failures.sampled} of ${failures.total} failed users)`);
  }
  return lines;
}

function formatAgents(status: FleetStatus, now: number): string[] {
  const lines: string[] = [];
  if (status.unserved) {
    lines.push(
      `  agents    no agent is serving this campaign — start one with \`${status.startAgentHint}\``,
      ...(status.agents.length > 0 ? [`${INDENT}alive but serving other campaigns or transports:`] : []),
    );
  } else if (status.agents.length === 0) {
    lines.push('  agents    none alive');
  }
  const shown = status.agents.slice(0, AGENTS_SHOWN);
  shown.forEach((agent, index) => {
    const head = index === 0 && lines.length === 0 ? '  agents    ' : INDENT;
    lines.push(`${head}${describeAgent(agent, status.campaign.name, now)}`);
  });
  if (status.agents.length > shown.length) lines.push(`${INDENT}… and ${status.agents.length - shown.length} more`);
  return lines;
}

function describeAgent(agent: AgentHeartbeat, campaign: string, now: number): string {
  const serves = agent.campaigns.includes(campaign)
    ? 'serves this campaign'
    : agent.campaigns.length > 0
      ? `serves ${agent.campaigns.join(', ')}`
      : 'serves no campaign now (it picks up the next one started)';
  const seen = Math.max(0, Math.round((now - agent.seenAt) / 1000));
  return [
    agent.id,
    serves,
    agent.roles.join('+'),
    agent.transports.join(','),
    `concurrency ${agent.concurrency}`,
    `v${agent.version}`,
    `seen ${seen}s ago`,
  ].join(' · ');
}

/** `campaigns` / `status` without a name: the campaign line, then its failures when it has some. */
export function formatCampaignEntry(summary: FleetCampaignSummary, line: (s: CampaignSummary) => string): string {
  return [line(summary), ...formatFailures(summary.failures, '    ')].join('\n');
}

function formatCounted(values: readonly CountedValue[]): string {
  const shown = values.slice(0, SHOWN).map(({ value, count }) => `${value} ${count}`);
  if (values.length > SHOWN) shown.push(`+${values.length - SHOWN} more`);
  return shown.join(' · ');
}

/** `06:12:30 UTC` today, with the date when further away (backoffs may last hours). */
export function formatClock(at: number, now: number): string {
  const iso = new Date(at).toISOString();
  const time = `${iso.slice(11, 19)} UTC`;
  return Math.abs(at - now) < 12 * 3_600_000 ? time : `${iso.slice(0, 10)} ${time}`;
}
