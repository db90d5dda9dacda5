import { USER_STATES } from '../rollout/states.js';
import type { CampaignStatus, CampaignSummary } from './campaign-status.js';
import { formatInsightLines, formatPace, hasInsights } from './format-insights.js';

/** Plain-text views of campaign status shared by `status`, `run --follow` and `campaigns`. */

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, '0')}m`;
}

/** `queued 3 · applied 180 · failed 2` (states with 0 users are left out unless all are 0). */
export function formatCounts(summary: CampaignSummary): string {
  const parts = USER_STATES.filter((state) => summary.counts[state] !== 0).map(
    (state) => `${state} ${summary.counts[state]}`,
  );
  return parts.length > 0 ? parts.join(' · ') : 'no users';
}

export function formatProgress(summary: CampaignSummary): string {
  const percent = summary.total > 0 ? Math.floor((summary.finished / summary.total) * 100) : 100;
  return `${summary.finished}/${summary.total} finished (${percent}%)`;
}

export function formatStatusText(status: CampaignStatus, now = Date.now()): string {
  const { campaign } = status;
  const lines = [
    `campaign ${campaign.name}: ${campaign.state} (${campaign.stateReason}) · ${campaign.settings.deploy?.transport ?? 'local'} transport · import #${campaign.imports}`,
    `  users     ${formatCounts(status)}`,
    `  progress  ${formatProgress(status)}`,
    `  pace      ${formatPace(status, formatDuration)}`,
    `  jobs      ${formatJobs(status.jobs)}`,
  ];
  const importLine = describeImportState(status);
  if (importLine) lines.splice(1, 0, `  import    ${importLine}`);
  if (status.counts.applied > 0) {
    lines.push('  note      applied = PRF staged in the registry; `fleet-rollout verify` confirms Outlook took it');
  }
  const onHost = status.counts.deploying + status.counts['rolling-back'];
  if (onHost > 0) lines.push(`  on hosts  ${onHost} step(s) running on workstations`);
  if (campaign.finishedAt !== undefined && campaign.startedAt !== undefined) {
    lines.push(`  took      ${formatDuration((campaign.finishedAt - campaign.startedAt) / 1000)}`);
  }
  if (hasInsights(status)) lines.push(...formatInsightLines(status, now));
  return `${lines.join('\n')}\n`;
}

/** `import incomplete: 29,000 of 100,000 rows written — run import again to finish`, or nothing when complete. */
export function describeImportState(status: CampaignSummary & { readonly importAlive?: boolean }): string | undefined {
  const { campaign } = status;
  if (campaign.importState !== 'writing') return undefined;
  const progress = `${(campaign.importWritten ?? 0).toLocaleString('en-US')} of ${(campaign.importTotal ?? 0).toLocaleString('en-US')} rows written`;
  if (status.importAlive) return `in progress: ${progress}`;
  const why = campaign.importError ? ` (${campaign.importError})` : '';
  return `incomplete: ${progress}${why} — run import again to finish`;
}

export function formatCampaignLine(summary: CampaignSummary): string {
  const { campaign } = summary;
  return `${campaign.name.padEnd(24)} ${campaign.state.padEnd(9)} ${formatProgress(summary)} · ${formatCounts(summary)}`;
}

function formatJobs(jobs: Record<string, number>): string {
  const parts = Object.entries(jobs)
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${name} ${count}`);
  return parts.length > 0 ? parts.join(' · ') : 'none pending';
}
