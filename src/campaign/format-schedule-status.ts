import { formatLocal } from '../rollout/schedule.js';
import type { ScheduleStatus } from './schedule-status.js';

/**
 * The schedule lines of `status` (kept apart from format-status.ts): each site's window, open or when it opens, in
 * the site's zone and the viewer's; the current wave and its failure rate against the threshold; a halt's reason
 * and failing users.
 */
function when(instant: number, zone: string, viewerZone: string, now: number): string {
  const local = formatLocal(instant, zone);
  if (viewerZone === zone) return local;
  const viewer = formatLocal(instant, viewerZone);
  const sameDay = viewer.slice(0, 14) === formatLocal(now, viewerZone).slice(0, 14);
  return `${local} (${sameDay ? viewer.slice(15) : viewer.slice(0, 20)} ${viewerZone})`;
}

const percent = (value: number) => `${Math.round(value * 10) / 10}%`;

export function formatScheduleText(status: ScheduleStatus, viewerZone: string, now: number): string {
  const lines: string[] = [];
  if (status.startAt !== undefined && status.startAt > now) {
    lines.push(`  starts    ${when(status.startAt, 'UTC', viewerZone, now)}`);
  }
  status.windows.forEach((window, index) => {
    const label = window.site === '' ? (status.windows.length > 1 ? 'other sites' : 'every site') : window.site;
    const state = window.open
      ? window.closesAt !== undefined
        ? `open, closes ${when(window.closesAt, window.timezone, viewerZone, now)}`
        : 'open'
      : window.opensAt !== undefined
        ? `shut, opens ${when(window.opensAt, window.timezone, viewerZone, now)}`
        : 'shut, no opening within 30 days';
    lines.push(`  ${index === 0 ? 'window   ' : '         '} ${label}: ${state}`);
  });
  const waves = status.waves;
  if (waves) {
    const { current } = waves;
    const threshold =
      waves.maxFailPercent !== undefined ? ` vs max_fail_percent ${waves.maxFailPercent}%` : ' (no halt threshold)';
    const retrying = waves.countRetryingAsFailed ? ' (retrying counted)' : '';
    const soak = waves.opensAt !== undefined ? ` · opens ${when(waves.opensAt, 'UTC', viewerZone, now)}` : '';
    lines.push(
      `  wave      ${current.wave} of ${waves.count}${soak} · ${current.applied} applied, ${current.pending + current.inFlight} to go · failure rate ${percent(current.ratePercent)} (${current.failures} of ${current.size})${retrying}${threshold}`,
    );
  }
  if (status.halt) {
    const users = status.halt.users.length > 0 ? ` · failing: ${status.halt.users.join(', ')}` : '';
    lines.push(`  halted    ${status.halt.reason}${users} — \`resume\` continues with the users not yet attempted`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
