import { fmt, h, table, fill } from './dom.js';

/** A time in a zone, e.g. `2026-11-30 08:00 Europe/Paris` (the site's own clock: what its admins read). */
export function zoned(ms, timeZone) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(ms))
      .map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${timeZone}`;
}

const percent = (value) => `${Math.round(value * 10) / 10}%`;

function windowText(window) {
  if (window.open) return window.closesAt !== undefined ? `open until ${zoned(window.closesAt, window.timezone)}` : 'open';
  return window.opensAt !== undefined ? `shut, opens at ${zoned(window.opensAt, window.timezone)}` : 'shut, no opening within 30 days';
}

/** '' is the campaign's own window: every site, or every site without one of its own. */
const siteLabel = (window, windows) => window.site || (windows.length > 1 ? 'other sites' : 'every site');

/** One line for the campaigns list: the wave and the windows, shortest form. */
export function scheduleSummary(schedule) {
  const parts = [];
  if (schedule.waves) parts.push(`wave ${schedule.waves.current.wave} of ${schedule.waves.count} · ${percent(schedule.waves.current.ratePercent)} failed${schedule.waves.maxFailPercent !== undefined ? ` (max ${schedule.waves.maxFailPercent}%)` : ''}`);
  for (const window of schedule.windows) parts.push(`${siteLabel(window, schedule.windows)}: ${windowText(window)}`);
  return parts.join(' · ');
}

/**
 * The campaign's schedule: each site's window in its zone, the current wave's failure rate against
 * max_fail_percent, a halt's reason and failing users, and deploys in flight against the caps.
 */
export function renderSchedule(element, { schedule, slots }, name) {
  const userLink = (username) => h('a', { href: `#/c/${encodeURIComponent(name)}/u/${encodeURIComponent(username)}` }, username);
  const waves = schedule.waves;
  const nothing = schedule.windows.length === 0 && !waves && !schedule.halt && !slots;
  fill(
    element,
    h('h3', {}, 'Schedule, waves and slots'),
    nothing ? h('p', { className: 'muted' }, 'No window, wave or cap: every user may deploy now.') : null,
    schedule.windows.length > 0
      ? table(
          ['Site', 'Zone', 'Window'],
          schedule.windows.map((window) => [siteLabel(window, schedule.windows), window.timezone, h('td', { dataset: { open: String(window.open) } }, windowText(window))]),
          { id: 'window-table' },
        )
      : null,
    waves
      ? h(
          'p',
          { id: 'wave-status' },
          `Wave ${waves.current.wave} of ${waves.count}${waves.opensAt !== undefined ? ` (opens ${zoned(waves.opensAt, 'UTC')})` : ''} · ${fmt(waves.current.applied)} applied, ${fmt(waves.current.pending + waves.current.inFlight)} to go · failure rate ${percent(waves.current.ratePercent)} (${fmt(waves.current.failures)} of ${fmt(waves.current.size)})${waves.countRetryingAsFailed ? ' (retrying counted)' : ''}${waves.maxFailPercent !== undefined ? ` vs max_fail_percent ${waves.maxFailPercent}%` : ' (no halt threshold)'}`,
        )
      : null,
    schedule.halt
      ? h(
          'div',
          { className: 'halt', id: 'halt-detail' },
          h('p', {}, `Halted: ${schedule.halt.reason}`),
          schedule.halt.users.length > 0 ? h('p', { id: 'halt-users' }, 'Failing users: ', schedule.halt.users.flatMap((u, i) => (i === 0 ? [userLink(u)] : [', ', userLink(u)]))) : null,
          h('p', { className: 'muted' }, 'Resume continues with the users not yet attempted.'),
        )
      : null,
    slots
      ? table(
          ['Slots', h('th', { className: 'num' }, 'In flight'), h('th', { className: 'num' }, 'Cap')],
          [
            ...(slots.global ? [['every site', slots.global]] : []),
            ...slots.sites.map((site) => [site.site, site]),
          ].map(([label, use]) => [label, h('td', { className: 'num' }, fmt(use.inFlight)), h('td', { className: 'num' }, use.cap === undefined ? '—' : fmt(use.cap))]),
          { id: 'slot-table' },
        )
      : null,
    slots ? h('p', { className: 'muted' }, `${slots.perHost} per host${slots.connectionsPerSecond !== undefined ? ` · ${slots.connectionsPerSecond} SSH connections/s` : ''}`) : null,
  );
}
