import { api, campaignPath, isAdmin, toQuery } from './api.js';
import { confirmDialog } from './confirm.js';
import { flash, fmt, h, stateBadge, table, when, fill } from './dom.js';

const STATES = ['queued', 'generated', 'deploying', 'retrying', 'rollback-queued', 'rolling-back', 'applied', 'failed', 'rollback-failed', 'skipped', 'cancelled', 'rolled-back'];
const FILTERS = ['q', 'state', 'stage', 'site', 'code'];
const PAGE_SIZES = [25, 50, 100, 200];
const COLUMNS = [
  ['username', 'User'],
  ['state', 'State'],
  ['stage', 'Stage'],
  ['site', 'Site'],
  ['host', 'Host'],
  ['code', 'Error'],
  ['attempts', 'Attempts'],
  ['updatedAt', 'Updated'],
  ['parkedReason', 'Waiting for'],
];

const SERVER_SORTS = { username: 'name', updatedAt: 'updated' };

const codeOf = (user) => user.lastError?.cause ?? user.lastError?.code ?? '';
const valueOf = (user, key) => (key === 'code' ? codeOf(user) : key === 'host' ? (user.host ?? user.spec?.host ?? '') : (user[key] ?? ''));

/**
 * The users table: search (username, e-mail, host) and filters served by the store's indexes, keyset pages
 * (next/previous), every page sorted by username or (within a state) last change, the loaded page by any column, selection, and the actions over one user, the selection or
 * every user matching the filter, each confirmed with the count of users it will touch.
 */
export function usersTable(name, params) {
  const filter = Object.fromEntries(FILTERS.map((key) => [key, params.get(key) ?? '']));
  let limit = 50;
  let cursors = [undefined];
  let page = { users: [] };
  let sort = { key: undefined, dir: 1 };
  // Username and last change are sorted by the server (an index serves them) across every page.
  let serverSort;
  const selected = new Set();
  const element = h('section', { id: 'users' });
  const inputs = {
    q: h('input', { id: 'f-q', type: 'search', placeholder: 'username, e-mail or host', value: filter.q }),
    state: h('select', { id: 'f-state' }, h('option', { value: '' }, 'any state'), STATES.map((state) => h('option', { value: state }, state))),
    stage: h('select', { id: 'f-stage' }, h('option', { value: '' }, 'any stage'), h('option', { value: 'apply' }, 'apply'), h('option', { value: 'rollback' }, 'rollback')),
    site: h('input', { id: 'f-site', placeholder: 'site', size: 10, value: filter.site }),
    code: h('input', { id: 'f-code', placeholder: 'FR_ERR_…', size: 28, value: filter.code }),
  };
  inputs.state.value = filter.state;
  inputs.stage.value = filter.stage;
  const matching = h('span', { id: 'matching', className: 'muted' });
  const body = h('div', { id: 'users-body' });
  const pager = h('div', { className: 'row' });
  const actions = h('div', { className: 'row', id: 'user-actions' });
  const exportLinks = h('span', { className: 'row' });

  const form = h(
    'form',
    {
      className: 'row',
      id: 'user-filters',
      onsubmit: (event) => {
        event.preventDefault();
        for (const key of FILTERS) filter[key] = inputs[key].value.trim();
        restart();
      },
    },
    inputs.q,
    inputs.state,
    inputs.stage,
    inputs.site,
    inputs.code,
    h('button', { type: 'submit', id: 'apply-filter' }, 'Filter'),
    h('button', { type: 'button', onclick: () => setFilter(Object.fromEntries(FILTERS.map((key) => [key, '']))) }, 'Clear'),
    matching,
  );
  element.append(h('h3', {}, 'Users'), form, actions, body, pager);

  const filterParams = () => Object.fromEntries(FILTERS.filter((key) => filter[key]).map((key) => [key, filter[key]]));
  /** The filter as the actions take it: `q` is a search there. */
  const selectionFilter = () => filterParams();

  async function load(count) {
    const cursor = cursors.at(-1);
    if (serverSort?.endsWith('updated') && !filter.state) serverSort = undefined;
    const query = toQuery({ ...filterParams(), limit, cursor, sort: serverSort });
    const [answer, counted] = await Promise.all([
      api('GET', `${campaignPath(name)}/users${query}`),
      count ? api('GET', `${campaignPath(name)}/count${toQuery(filterParams())}`) : undefined,
    ]);
    page = answer;
    if (counted) {
      matching.textContent = `${fmt(counted.users)} matching`;
      matching.dataset.count = String(counted.users);
    }
    render();
  }

  function render() {
    const users = [...page.users];
    if (sort.key) users.sort((a, b) => compare(valueOf(a, sort.key), valueOf(b, sort.key)) * sort.dir);
    const headers = [
      isAdmin() ? h('th', {}, h('input', { type: 'checkbox', 'aria-label': 'select page', onchange: (event) => selectPage(event.target.checked) })) : null,
      ...COLUMNS.map(([key, label]) => header(key, label)),
    ].filter(Boolean);
    const rows = users.map((user) => [
      isAdmin()
        ? h('input', { type: 'checkbox', checked: selected.has(user.username), 'aria-label': `select ${user.username}`, onchange: (event) => { toggle(user.username, event.target.checked); } })
        : null,
      h('a', { href: `#/c/${encodeURIComponent(name)}/u/${encodeURIComponent(user.username)}` }, user.username),
      stateBadge(user.state),
      user.stage ?? '',
      user.site ?? '',
      valueOf(user, 'host'),
      codeOf(user),
      h('td', { className: 'num' }, fmt(user.attempts)),
      when(user.updatedAt),
      h('td', { className: 'muted parked' }, user.parkedReason ?? ''),
    ].filter((cell) => cell !== null));
    fill(body, users.length === 0 ? h('p', { className: 'muted' }, 'No user matches.') : table(headers, rows, { id: 'user-table' }));
    fill(pager, 
      h('button', { type: 'button', id: 'page-prev', disabled: cursors.length <= 1, onclick: () => { cursors.pop(); reload({ count: false }); } }, '← Previous'),
      h('span', { className: 'muted' }, `page ${cursors.length}`),
      h('button', { type: 'button', id: 'page-next', disabled: page.nextCursor === undefined, onclick: () => { cursors.push(page.nextCursor); reload({ count: false }); } }, 'Next →'),
      h('select', { 'aria-label': 'page size', onchange: (event) => { limit = Number(event.target.value); restart(); } }, PAGE_SIZES.map((size) => h('option', { value: size, selected: size === limit }, `${size} a page`))),
      exportLinks,
    );
    fill(exportLinks, 
      h('a', { id: 'export-csv', href: `${campaignPath(name)}/export${toQuery({ ...filterParams(), format: 'csv' })}`, download: `${name}-users.csv` }, 'Export CSV'),
      h('a', { id: 'export-json', href: `${campaignPath(name)}/export${toQuery({ ...filterParams(), format: 'json' })}`, download: `${name}-users.json` }, 'Export JSON'),
    );
    renderActions();
  }

  /** A column header: username and (with a state filter) last change sort every page, the others the loaded one. */
  function header(key, label) {
    const server = SERVER_SORTS[key];
    const usable = server && (key !== 'updatedAt' || filter.state !== '');
    const current = usable && serverSort?.replace('-', '') === server ? (serverSort.startsWith('-') ? 'desc' : 'asc') : sort.key === key ? (sort.dir > 0 ? 'asc' : 'desc') : undefined;
    const title = usable ? 'sorts every page (server)' : key === 'updatedAt' ? 'sorts the loaded page (filter by a state to sort every page)' : 'sorts the loaded page';
    const onclick = () => {
      if (usable) {
        serverSort = serverSort === server ? `-${server}` : server;
        sort = { key: undefined, dir: 1 };
        restart();
      } else {
        sort = { key, dir: sort.key === key ? -sort.dir : 1 };
        render();
      }
    };
    return h('th', { className: 'sortable', dataset: { sort: key, ...(current && { sorted: current }) }, title, onclick }, label, current ? (current === 'asc' ? ' ▲' : ' ▼') : '');
  }

  function renderActions() {
    if (!isAdmin()) {
      fill(actions, );
      return;
    }
    const named = filter.state !== '' || filter.code !== '';
    const why = named ? undefined : 'filter by a state or an error code first';
    fill(actions, 
      h('button', { type: 'button', id: 'retry-selected', disabled: selected.size === 0, onclick: () => act('retry', { users: [...selected] }) }, `Retry selected (${selected.size})`),
      h('button', { type: 'button', id: 'rollback-selected', disabled: selected.size === 0, onclick: () => act('rollback', { users: [...selected] }) }, `Roll back selected (${selected.size})`),
      h('button', { type: 'button', id: 'retry-matching', className: 'primary', disabled: !named, title: why, onclick: () => act('retry', { filter: selectionFilter() }) }, 'Retry all matching'),
      h('button', { type: 'button', id: 'rollback-matching', className: 'danger', disabled: !named, title: why, onclick: () => act('rollback', { filter: selectionFilter() }) }, 'Roll back all matching'),
    );
  }

  async function act(intent, selection) {
    try {
      const { users } = await api('POST', `${campaignPath(name)}/${intent}`, { ...selection, dryRun: true });
      const verb = intent === 'retry' ? 'Retry' : 'Roll back';
      const ok = await confirmDialog(`${verb} ${fmt(users)} user${users === 1 ? '' : 's'}?`, { ok: verb, danger: intent === 'rollback' });
      if (!ok) return;
      const result = await api('POST', `${campaignPath(name)}/${intent}`, selection);
      const refused = Object.entries(result.refused).map(([reason, count]) => `${fmt(count)} refused: ${reason}`);
      flash([`${verb}: ${fmt(result.moved)} user(s) queued`, ...refused].join(' · '));
      selected.clear();
      await reload();
    } catch (error) {
      flash(error.message, true);
    }
  }

  function toggle(username, on) {
    if (on) selected.add(username);
    else selected.delete(username);
    renderActions();
  }
  function selectPage(on) {
    for (const user of page.users) toggle(user.username, on);
    render();
  }
  function restart() {
    cursors = [undefined];
    selected.clear();
    return reload();
  }
  /** The current page again; the match count too unless told (it may page through a whole index). */
  function reload({ count = true } = {}) {
    return load(count).catch((error) => flash(error.message, true));
  }
  function setFilter(values) {
    for (const key of FILTERS) {
      if (key in values) {
        filter[key] = values[key];
        inputs[key].value = values[key];
      }
    }
    restart();
    element.scrollIntoView({ behavior: 'smooth' });
  }

  return { element, reload, setFilter };
}

function compare(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}
