import { api, campaignPath, isAdmin } from './api.js';
import { barList, progressBar, throughputChart } from './charts.js';
import { confirmDialog } from './confirm.js';
import { campaignBadge, flash, fmt, h, table, when, fill } from './dom.js';
import { renderSchedule } from './schedule-panel.js';
import { usersTable } from './users-table.js';

const STATES = ['queued', 'generated', 'deploying', 'retrying', 'rollback-queued', 'rolling-back', 'applied', 'failed', 'rollback-failed', 'skipped', 'cancelled', 'rolled-back'];
const SLOW_MS = 5_000;
const EVENT_TYPES = ['user-state-changed', 'attempt-recorded', 'users-generated', 'campaign-state-changed', 'wave-promoted'];

/**
 * One campaign: state and halt reason, windows, wave and slots, progress, counts per state, throughput and failures by cause (charts),
 * controls, the users table, and live updates from the event stream (SSE). Answers a function that stops it.
 */
export function campaignPage(view, name, params) {
  const parts = {
    header: h('div'),
    counts: h('div', { className: 'panel', id: 'counts' }),
    throughput: h('div', { className: 'panel', id: 'throughput' }),
    failures: h('div', { className: 'panel', id: 'failures' }),
    agents: h('div', { className: 'panel', id: 'agents' }),
    schedule: h('div', { className: 'panel', id: 'schedule' }),
    feed: h('ul', { className: 'feed', id: 'feed' }),
  };
  const users = usersTable(name, params);
  fill(view, 
    parts.header,
    parts.schedule,
    h('div', { className: 'panels' }, parts.counts, parts.throughput),
    h('div', { className: 'panels' }, parts.failures, h('div', { className: 'panel' }, h('h3', {}, 'Live events ', h('span', { className: 'live', id: 'live' }, '')), parts.feed)),
    parts.agents,
    users.element,
  );

  // The counters are O(1): read on every refresh. The charts scan the failed users and the match count may page
  // through an index: at most every SLOW_MS while events pour in, at once after an action.
  let slowAt = 0;
  let insights;
  async function refresh(full) {
    const slow = full || Date.now() - slowAt >= SLOW_MS;
    const [status, schedule, fresh, agents] = await Promise.all([
      api('GET', campaignPath(name)),
      api('GET', `${campaignPath(name)}/schedule`),
      slow ? api('GET', `${campaignPath(name)}/insights`) : undefined,
      slow ? api('GET', '/api/agents') : undefined,
    ]);
    renderHeader(parts.header, status, refreshAll);
    renderSchedule(parts.schedule, schedule, name);
    renderCounts(parts.counts, status, users);
    if (slow) {
      slowAt = Date.now();
      insights = fresh;
      renderThroughput(parts.throughput, status, insights);
      renderFailures(parts.failures, insights, users);
      renderAgents(parts.agents, agents.agents, name);
    }
    return slow;
  }
  async function refreshAll(full = true) {
    const slow = await refresh(full);
    await users.reload({ count: slow });
  }

  // Live: every event schedules one refresh at most per second (a burst of 1,000 moves is one refresh).
  let pending;
  const schedule = () => {
    if (pending) return;
    pending = setTimeout(() => {
      pending = undefined;
      refreshAll(false).catch((error) => flash(error.message, true));
    }, 1000);
  };
  const source = new EventSource(`${campaignPath(name)}/events`);
  source.addEventListener('open', () => {
    document.getElementById('live').textContent = '● live';
  });
  source.addEventListener('error', () => {
    const live = document.getElementById('live');
    if (live) live.textContent = '○ reconnecting';
  });
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (message) => {
      addToFeed(parts.feed, JSON.parse(message.data));
      schedule();
    });
  }
  refreshAll().catch((error) => flash(error.message, true));
  // Heartbeats are not events: look again every 10 s even when nothing moves.
  const beat = setInterval(schedule, 10_000);
  return () => {
    source.close();
    clearTimeout(pending);
    clearInterval(beat);
  };
}

function addToFeed(feed, event) {
  const time = new Date(event.at).toISOString().slice(11, 19);
  const text =
    event.type === 'campaign-state-changed'
      ? `campaign ${event.from} → ${event.to}${event.reason ? ` (${event.reason})` : ""}`
      : event.type === 'users-generated'
        ? `${fmt(event.count)} PRFs generated`
        : event.type === 'wave-promoted'
          ? `wave ${event.wave} promoted, opens ${new Date(event.opensAt).toISOString().slice(11, 19)}`
        : `user ${event.userKey.slice(0, 8)} ${event.from} → ${event.to}${event.stale ? ' (stale run)' : ''}`;
  feed.prepend(h('li', {}, `${time} ${text}`));
  while (feed.children.length > 30) feed.lastChild.remove();
}

function renderHeader(element, status, refreshAll) {
  const { campaign } = status;
  const controls = isAdmin()
    ? h(
        'div',
        { className: 'row' },
        control('Pause', 'pause', campaign, refreshAll, { enabled: campaign.state === 'running' }),
        control('Resume', 'resume', campaign, refreshAll, { enabled: campaign.state === 'paused' || campaign.state === 'halted' }),
        control('Halt', 'halt', campaign, refreshAll, { enabled: campaign.state === 'running', input: 'Reason' }),
        control('Cancel', 'cancel', campaign, refreshAll, { enabled: !['done', 'cancelled'].includes(campaign.state), danger: true }),
      )
    : null;
  fill(element, 
    h('h2', {}, campaign.name, ' ', campaignBadge(campaign.state)),
    campaign.state === 'halted' ? h('p', { className: 'halt', id: 'halt-reason' }, `Halted: ${campaign.stateReason}`) : null,
    h('p', { className: 'muted' }, `${campaign.stateReason} · CSV ${campaign.csvFile} · imported ${campaign.imports}× · started ${when(campaign.startedAt) || '—'}${campaign.finishedAt ? ` · finished ${when(campaign.finishedAt)}` : ''}`),
    progressBar(status.counts, status.total),
    h('p', { id: 'progress-text' }, `${fmt(status.finished)} of ${fmt(status.total)} users finished · ${fmt(status.inFlight)} in flight · ${status.throughputPerMinute.toFixed(1)} users/min${status.etaSeconds !== undefined ? ` · ETA ${Math.ceil(status.etaSeconds / 60)} min` : ''}`),
    controls,
  );
}

function control(label, action, campaign, refreshAll, { enabled, input, danger }) {
  return h(
    'button',
    {
      type: 'button',
      className: danger ? 'danger' : '',
      disabled: !enabled,
      dataset: { action },
      onclick: async () => {
        const answer = await confirmDialog(`${label} campaign ${campaign.name}?`, { ok: label, input, danger });
        if (answer === false) return;
        try {
          await api('POST', `${campaignPath(campaign.name)}/${action}`, action === 'halt' ? { reason: answer } : {});
          flash(`${label}: done`);
          await refreshAll();
        } catch (error) {
          flash(error.message, true);
        }
      },
    },
    label,
  );
}

function renderCounts(element, status, users) {
  const rows = STATES.filter((state) => status.counts[state] > 0).map((state) => [
    h('a', { href: '#', onclick: (event) => { event.preventDefault(); users.setFilter({ state }); } }, state),
    h('td', { className: 'num', dataset: { state } }, fmt(status.counts[state])),
  ]);
  fill(element, h('h3', {}, 'Users per state'), table(['State', h('th', { className: 'num' }, 'Users')], rows, { id: 'state-counts' }));
}

function renderThroughput(element, status, insights) {
  const total = insights.perMinute.reduce((sum, [, count]) => sum + count, 0);
  fill(element, 
    h('h3', {}, 'Throughput: users finished per minute'),
    throughputChart(insights.perMinute),
    h('p', { className: 'muted' }, `${fmt(total)} in the last ${insights.perMinute.length} min · ${status.throughputPerMinute.toFixed(1)}/min over the last ${status.windowMinutes} min`),
  );
}

function renderFailures(element, insights, users) {
  const { failures } = insights;
  const pick = (key) => (value) => users.setFilter(key === 'host' ? { q: value } : { [key]: value });
  fill(element, 
    h('h3', {}, `Failures by cause (${fmt(failures.users)} failed or retrying users${failures.truncated ? ', first ones only' : ''})`),
    failures.users === 0
      ? h('p', { className: 'muted' }, 'No failure.')
      : h(
          'div',
          {},
          h('h4', {}, 'Error code'),
          h('div', { id: 'chart-code' }, barList(failures.byCode, pick('code'), 'failures by error code')),
          h('h4', {}, 'Site'),
          h('div', { id: 'chart-site' }, barList(failures.bySite, pick('site'), 'failures by site')),
          h('h4', {}, 'Host (top 20)'),
          h('div', { id: 'chart-host' }, barList(failures.byHost, pick('host'), 'failures by host')),
        ),
  );
}

function renderAgents(element, agents, name) {
  const ago = (ms) => `${Math.max(0, Math.round((Date.now() - ms) / 1000))} s ago`;
  const serving = agents.filter((agent) => agent.campaigns.includes(name)).length;
  fill(
    element,
    h('h3', {}, `Agents alive (${agents.length}, ${serving} serving ${name})`),
    agents.length === 0
      ? h('p', { className: 'muted' }, 'No agent is alive: nothing will be deployed.')
      : table(
          ['Agent', 'Version', 'Roles', 'Transports', h('th', { className: 'num' }, 'Concurrency'), 'Serves this campaign', 'Seen'],
          agents.map((agent) => [
            agent.id,
            agent.version,
            agent.roles.join(', '),
            agent.transports.join(', '),
            h('td', { className: 'num' }, fmt(agent.concurrency)),
            agent.campaigns.includes(name) ? 'yes' : 'no (not running)',
            ago(agent.seenAt),
          ]),
          { id: 'agent-table' },
        ),
  );
}
