import { api } from './api.js';
import { progressBar } from './charts.js';
import { campaignBadge, fmt, h, table, fill } from './dom.js';

/** Campaigns list: state, progress, failures, why it halted. */
export async function campaignsPage(view) {
  const { campaigns } = await api('GET', '/api/campaigns');
  const rows = campaigns.map(({ campaign, counts, total, finished, inFlight }) => {
    const failed = (counts.failed ?? 0) + (counts['rollback-failed'] ?? 0);
    return [
      h('a', { href: `#/c/${encodeURIComponent(campaign.name)}` }, campaign.name),
      h('span', {}, campaignBadge(campaign.state), campaign.state === 'halted' ? h('div', { className: 'muted' }, campaign.stateReason) : null),
      h('td', { className: 'num' }, fmt(total)),
      h('td', {}, progressBar(counts, total), h('span', { className: 'muted' }, `${fmt(finished)} finished · ${fmt(inFlight)} in flight`)),
      h('td', { className: 'num' }, fmt(counts.applied)),
      h('td', { className: 'num' }, fmt(failed)),
      h('td', { className: 'num' }, fmt(counts.retrying)),
    ];
  });
  fill(view, 
    h('h2', {}, 'Campaigns'),
    campaigns.length === 0
      ? h('p', { id: 'empty' }, 'No campaign yet. ', h('a', { href: '#/upload' }, 'Upload a CSV'), ' to create one.')
      : table(
          ['Name', 'State', h('th', { className: 'num' }, 'Users'), 'Progress', h('th', { className: 'num' }, 'Applied'), h('th', { className: 'num' }, 'Failed'), h('th', { className: 'num' }, 'Retrying')],
          rows,
          { id: 'campaign-table' },
        ),
  );
}
