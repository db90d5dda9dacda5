import { api, campaignPath, isAdmin } from './api.js';
import { confirmDialog } from './confirm.js';
import { flash, fmt, h, stateBadge, table, when, fill } from './dom.js';

/** One user: the record, the attempt history (stage, timings, stderr tail, the outcome as recorded), the PRF, actions. */
export async function userPage(view, name, username) {
  const base = `${campaignPath(name)}/users/${encodeURIComponent(username)}`;
  const { user, attempts } = await api('GET', base);
  const prf = await api('GET', `${base}/prf`).catch((error) => ({ error: error.message }));
  const facts = [
    ['State', stateBadge(user.state)],
    ['Stage', user.stage ?? ''],
    ['Run / attempts', `${user.run} / ${user.attempts}`],
    ['Host', user.host ?? user.spec?.host ?? ''],
    ['Site', user.site ?? ''],
    ['Wave', user.wave !== undefined ? String(user.wave) : ''],
    ['E-mail', user.spec?.email ?? ''],
    ['Office', user.spec?.office ?? ''],
    ['CSV line', String(user.line)],
    ['Last error', user.lastError ? `${user.lastError.code}${user.lastError.cause ? ` (${user.lastError.cause})` : ''}: ${user.lastError.message}` : ''],
    ['Waiting because', user.parkedReason ?? ''],
    ['Next attempt', when(user.nextAttemptAt)],
    ['Backup on host', user.backup ?? ''],
    ['PRF checksum', user.checksum ?? ''],
    ['Updated', when(user.updatedAt)],
  ].filter(([, value]) => value !== '');
  fill(view, 
    h('p', {}, h('a', { href: `#/c/${encodeURIComponent(name)}` }, `← ${name}`)),
    h('h2', {}, user.username, ' ', stateBadge(user.state)),
    isAdmin() ? actions(name, user.username, () => userPage(view, name, username)) : null,
    table(['', ''], facts, { id: 'user-facts' }),
    h('h3', {}, `Attempts (${fmt(attempts.length)}, newest first)`),
    attempts.length === 0
      ? h('p', { className: 'muted' }, 'No attempt yet.')
      : table(
          ['When', 'Stage', 'Run.attempt', 'Outcome', 'Code', h('th', { className: 'num' }, 'Duration'), 'Agent', 'Details'],
          attempts.map((attempt) => [
            when(attempt.at),
            attempt.stage,
            `${attempt.run}.${attempt.attempt}`,
            `${attempt.outcome}${attempt.stale ? ' (stale run)' : ''}`,
            [attempt.code, attempt.cause].filter(Boolean).join(' ← '),
            h('td', { className: 'num' }, `${(attempt.durationMs / 1000).toFixed(1)} s`),
            attempt.agent ?? '',
            h(
              'div',
              {},
              attempt.message ? h('div', {}, attempt.message) : null,
              attempt.stderrTail ? h('details', {}, h('summary', {}, 'stderr tail'), h('pre', {}, attempt.stderrTail)) : null,
              h('details', {}, h('summary', {}, 'outcome JSON'), h('pre', {}, JSON.stringify(attempt, null, 2))),
            ),
          ]),
          { id: 'attempts' },
        ),
    h('h3', {}, 'Generated PRF'),
    prf.error
      ? h('p', { className: 'error' }, prf.error)
      : h(
          'div',
          { id: 'prf' },
          h(
            'p',
            { className: 'muted' },
            `${prf.fileName} · ${fmt(prf.bytes)} bytes · SHA-256 ${prf.sha256}`,
            prf.recordedSha256 && prf.recordedSha256 !== prf.sha256 ? ' · differs from the recorded checksum (settings changed since)' : '',
            ' · ',
            h('a', { href: `${base}/prf/download`, download: prf.fileName, id: 'prf-download' }, 'Download'),
          ),
          h('pre', { id: 'prf-text' }, prf.text),
        ),
  );
}

function actions(name, username, reload) {
  const act = (intent, verb, danger) =>
    h(
      'button',
      {
        type: 'button',
        className: danger ? 'danger' : 'primary',
        id: `${intent}-user`,
        onclick: async () => {
          if (!(await confirmDialog(`${verb} 1 user (${username})?`, { ok: verb, danger }))) return;
          try {
            const result = await api('POST', `${campaignPath(name)}/${intent}`, { user: username });
            const refused = Object.keys(result.refused);
            flash(result.moved > 0 ? `${verb}: queued` : `${verb} refused: ${refused.join('; ')}`, result.moved === 0);
            await reload();
          } catch (error) {
            flash(error.message, true);
          }
        },
      },
      verb,
    );
  return h('div', { className: 'row' }, act('retry', 'Retry', false), act('rollback', 'Roll back', true));
}
