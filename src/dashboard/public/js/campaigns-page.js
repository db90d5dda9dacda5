import { api, campaignPath } from './api.js';
import { progressBar } from './charts.js';
import { campaignBadge, fmt, h, table, fill } from './dom.js';
import { scheduleSummary } from './schedule-panel.js';

const FINISHED = ['done', 'cancelled'];

/** Campaigns list: state, progress, failures, why it halted, the window and wave state of those still going. */
export async function campaignsPage(view) {
  const { campaigns } = await api('GET', '/api/campaigns');
  const schedules = await Promise.all(
    campaigns.map(({ campaign }) =>
      FINISHED.includes(campaign.state) ? undefined : api('GET', `${campaignPath(campaign.name)}/schedule`).catch(() => undefined),
    ),
  );
  const rows = campaigns.map(({ campaign, counts, total, finished, inFlight }, index) => {
    const failed = (counts.failed ?? 0) + (counts['rollback-failed'] ?? 0);
    return [
      h('a', { href: `#/c/${encodeURIComponent(campaign.name)}` }, campaign.name),
      h('span', {}, campaignBadge(campaign.state), campaign.state === 'halted' ? h('div', { className: 'muted' }, campaign.stateReason) : null),
      h('td', { className: 'num' }, fmt(total)),
      h('td', {}, progressBar(counts, total), h('span', { className: 'muted' }, `${fmt(finished)} finished · ${fmt(inFlight)} in flight`)),
      h('td', { className: 'num' }, fmt(counts.applied)),
      h('td', { className: 'num' }, fmt(failed)),
      h('td', { className: 'num' }, fmt(counts.retrying)),
      h('td', { className: 'muted schedule' }, schedules[index] ? scheduleSummary(schedules[index].schedule) : ''),
    ];
  });
  fill(view, 
    h('h2', {}, 'Campaigns'),
    campaigns.length === 0
      ? h('p', { id: 'empty' }, 'No campaign yet. ', h('a', { href: '#/upload' }, 'Upload a CSV'), ' to create one.')
      : table(
          ['Name', 'State', h('th', { className: 'num' }, 'Users'), 'Progress', h('th', { className: 'num' }, 'Applied'), h('th', { className: 'num' }, 'Failed'), h('th', { className: 'num' }, 'Retrying'), 'Window / wave'],
          rows,
          { id: 'campaign-table' },
        ),
  );
}
