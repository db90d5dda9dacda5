// The dashboard's browser side: no framework, no CDN, no inline script (the CSP forbids it).
// Text is always set with textContent, never parsed as HTML.
const $ = (id) => document.getElementById(id);
let csrfToken = '';

async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(data.error?.message ?? response.statusText), { status: response.status });
  return data;
}

function showLogin() {
  $('login').hidden = false;
  $('campaigns').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
}

async function showCampaigns(session) {
  csrfToken = session.csrfToken;
  $('login').hidden = true;
  $('logout').hidden = false;
  $('who').textContent = `${session.who} (${session.role})`;
  const { campaigns } = await api('GET', '/api/campaigns');
  const rows = $('campaign-rows');
  rows.replaceChildren();
  for (const campaign of campaigns) {
    const tr = document.createElement('tr');
    const counts = campaign.counts ?? {};
    const cells = [
      campaign.campaign?.name ?? campaign.name,
      campaign.campaign?.state ?? campaign.state,
      campaign.total,
      campaign.finished,
      (counts.failed ?? 0) + (counts['rollback-failed'] ?? 0),
    ];
    for (const value of cells) {
      const td = document.createElement('td');
      td.textContent = value === undefined ? '' : String(value);
      tr.append(td);
    }
    rows.append(tr);
  }
  $('empty').hidden = campaigns.length > 0;
  $('campaigns').hidden = false;
}

$('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('login-error').textContent = '';
  try {
    const session = await api('POST', '/api/login', { token: $('token').value });
    $('token').value = '';
    await showCampaigns(session);
  } catch (error) {
    $('login-error').textContent = error.message;
  }
});

$('logout').addEventListener('click', async () => {
  await api('POST', '/api/logout').catch(() => undefined);
  csrfToken = '';
  showLogin();
});

api('GET', '/api/session').then(showCampaigns, showLogin);
