import { api, isAdmin, toQuery } from './api.js';
import { flash, fmt, h, table, fill } from './dom.js';

/**
 * Create (or re-import) a campaign from a CSV and an optional campaign file. A CSV with any bad row imports and
 * queues nothing: every rejected row is listed with its line, column, value and reason.
 */
export function uploadPage(view) {
  if (!isAdmin()) {
    fill(view, h('h2', {}, 'Upload'), h('p', { className: 'muted' }, 'The read-only token cannot create campaigns.'));
    return;
  }
  const name = h('input', { id: 'up-name', required: true, pattern: '[A-Za-z0-9][A-Za-z0-9_\\-]{0,63}', placeholder: 'paris-wave1' });
  const csv = h('input', { id: 'up-csv', type: 'file', accept: '.csv,text/csv', required: true });
  const settings = h('input', { id: 'up-settings', type: 'file', accept: '.yaml,.yml,.json' });
  const start = h('input', { id: 'up-start', type: 'checkbox', checked: true });
  const result = h('div', { id: 'upload-result' });
  const form = h(
    'form',
    {
      className: 'stack',
      id: 'upload-form',
      onsubmit: async (event) => {
        event.preventDefault();
        fill(result, h('p', { className: 'muted' }, 'Checking…'));
        try {
          fill(result, await upload(name.value.trim(), csv.files[0], settings.files[0], start.checked));
        } catch (error) {
          fill(result, describeFailure(error));
        }
      },
    },
    h('label', {}, 'Campaign name', name),
    h('label', {}, 'Users CSV', csv),
    h('label', {}, 'Campaign file (optional, YAML or JSON)', settings),
    h('label', {}, start, ' start the campaign at once'),
    h('button', { type: 'submit', className: 'primary', id: 'upload-submit' }, 'Upload'),
  );
  fill(view, h('h2', {}, 'Upload a CSV'), form, result);
}

async function upload(name, csvFile, settingsFile, start) {
  let settings;
  if (settingsFile) {
    const checked = await api('POST', `/api/campaign-files${toQuery({ file: settingsFile.name })}`, await settingsFile.text(), 'application/yaml');
    settings = checked.id;
  }
  const query = toQuery({ name, start: start ? 'true' : 'false', file: csvFile.name, settings });
  const summary = await api('POST', `/api/campaigns${query}`, csvFile, 'text/csv');
  flash(`Imported ${name}: ${fmt(summary.valid)} valid rows, ${fmt(summary.queued)} queued`);
  return h(
    'p',
    { id: 'upload-ok' },
    `${fmt(summary.valid)} valid rows, ${fmt(summary.added)} added, ${fmt(summary.changed)} changed, ${fmt(summary.queued)} queued. `,
    h('a', { href: `#/c/${encodeURIComponent(name)}` }, `Open ${name}`),
  );
}

function describeFailure(error) {
  const body = error.body ?? {};
  if (!Array.isArray(body.rejections)) return h('p', { className: 'error', id: 'upload-error' }, error.message);
  return h(
    'div',
    {},
    h('p', { className: 'error', id: 'upload-error' }, `${fmt(body.rejected)} row(s) rejected, ${fmt(body.valid)} valid: nothing was imported or queued. Fix these rows and upload again.`),
    table(
      ['Line', 'Column', 'Value', 'Reason'],
      body.rejections.map((row) => [h('td', { className: 'num' }, String(row.line)), row.column, row.value, row.reason]),
      { id: 'rejections' },
    ),
  );
}
