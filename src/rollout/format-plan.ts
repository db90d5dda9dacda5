import type { RolloutPlan } from './plan-rollout.js';
import { describeWindow, formatLocal } from './schedule.js';

/** The plain-text view of a rollout plan (`fleet-rollout plan`). Times are shown in each site's own zone. */

const siteName = (site: string) => (site === '' ? '(no site)' : site);
const count = (n: number) => n.toLocaleString('en-US');

function sample(usernames: readonly string[], shown: number): string {
  const head = usernames.slice(0, shown).join(', ');
  return usernames.length > shown ? `${head}, … +${count(usernames.length - shown)}` : head;
}

/** `Mon 2026-12-07 22:00 → Tue 12-08 06:00` (same day: `→ 23:10`), the zone's wall clock, zone not named. */
function formatSpan(start: number, end: number, zone: string): string {
  const from = formatLocal(start, zone).slice(0, -zone.length - 1);
  const to = formatLocal(end, zone).slice(0, -zone.length - 1);
  const sameDay = from.slice(0, 14) === to.slice(0, 14);
  return `${from} → ${sameDay ? to.slice(15) : `${to.slice(0, 3)} ${to.slice(9)}`}`;
}

export function formatPlanText(plan: RolloutPlan, options: { readonly usersShown?: number } = {}): string {
  const shown = options.usersShown ?? 3;
  const zone = plan.timezone;
  const named = Object.entries(plan.siteCaps ?? {}).map(([site, n]) => `${site} ${n}`);
  const perSite = plan.perSiteCap !== undefined ? [`${plan.perSiteCap} per site`] : [];
  const cap = perSite.length + named.length > 0 ? `, at most ${[...perSite, ...named].join(', ')}` : '';
  const lines = [
    `plan: ${count(plan.users)} users · ${plan.sites.length} site${plan.sites.length === 1 ? '' : 's'} · ${plan.waves.length} wave${plan.waves.length === 1 ? '' : 's'} · ${plan.concurrency} deploys at once${cap} · ${Math.round(plan.perUserMs / 1000)} s per user`,
    `starts: ${formatLocal(plan.startsAt, zone)}`,
    '',
    'sites',
  ];
  const width = Math.max(9, ...plan.sites.map((site) => siteName(site.site).length));
  for (const site of plan.sites) {
    const windows = site.schedule.windows.map(describeWindow).join(' + ') || 'always open';
    lines.push(
      `  ${siteName(site.site).padEnd(width)}  ${count(site.users).padStart(6)} users  ${site.schedule.timezone}  ${windows}`,
    );
    if (site.nextOpenings.length > 0) {
      const next = site.nextOpenings.map((o) => formatSpan(o.start, o.end, site.schedule.timezone));
      lines.push(`  ${''.padEnd(width)}  next openings: ${next.join(' · ')}`);
    }
  }
  lines.push('', 'waves');
  for (const wave of plan.waves) {
    const label = `wave ${wave.number}${wave.canary ? ' (canary)' : ''}`;
    const when =
      wave.startsAt !== undefined && wave.finishesAt !== undefined
        ? `${formatSpan(wave.startsAt, wave.finishesAt, zone)} ${zone}`
        : wave.startsAt !== undefined
          ? `starts ${formatLocal(wave.startsAt, zone)}, does not finish within the horizon`
          : 'not placed within the horizon';
    lines.push(`  ${label.padEnd(16)} ${count(wave.users).padStart(6)} users  ${when}`);
    for (const site of wave.sites) {
      lines.push(
        `    ${siteName(site.site).padEnd(width)} ${count(site.usernames.length).padStart(6)}  ${sample(site.usernames, shown)}`,
      );
    }
  }
  lines.push('');
  if (plan.finishAt !== undefined) {
    const extra = zone === 'UTC' ? '' : ` (${formatLocal(plan.finishAt, 'UTC')})`;
    lines.push(`estimated finish: ${formatLocal(plan.finishAt, zone)}${extra}`);
  } else if (plan.users > 0) {
    lines.push(`estimated finish: none — ${count(plan.unplaced)} users cannot be deployed within the planning horizon`);
  }
  return `${lines.join('\n')}\n`;
}
