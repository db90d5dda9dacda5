import { api, toQuery } from './api.js';
import { h, table, when, fill } from './dom.js';

/** Every admin action: who (the token's name), when, what, on which selection, how many users. */
export async function auditPage(view, params) {
  const cursor = params.get('cursor') ?? undefined;
  const { entries, nextCursor } = await api('GET', `/api/audit${toQuery({ limit: 100, cursor })}`);
  fill(view, 
    h('h2', {}, 'Audit trail'),
    entries.length === 0
      ? h('p', { className: 'muted' }, 'No action yet.')
      : table(
          ['When', 'Who', 'Action', 'Campaign', 'Selection', h('th', { className: 'num' }, 'Users'), 'Outcome'],
          entries.map((entry) => [
            when(entry.at),
            entry.who,
            entry.action,
            entry.campaign ? h('a', { href: `#/c/${encodeURIComponent(entry.campaign)}` }, entry.campaign) : '',
            entry.filter ? Object.entries(entry.filter).map(([key, value]) => `${key}=${Array.isArray(value) ? value.join(',') : value}`).join(' ') : '',
            h('td', { className: 'num' }, entry.users === undefined ? '' : entry.users.toLocaleString('en-US')),
            entry.outcome ?? '',
          ]),
          { id: 'audit-table' },
        ),
    nextCursor ? h('p', {}, h('a', { href: `#/audit?cursor=${encodeURIComponent(nextCursor)}` }, 'Older →')) : null,
  );
}
