// The dashboard's browser side: vanilla ES modules served by the dashboard itself (no framework, no CDN, no inline
// script: the CSP forbids it). Hash routes: #/ · #/c/<campaign> · #/c/<campaign>/u/<user> · #/audit · #/upload.
import { api, setSession } from './js/api.js';
import { auditPage } from './js/audit-page.js';
import { campaignPage } from './js/campaign-page.js';
import { campaignsPage } from './js/campaigns-page.js';
import { $, flash, h, fill } from './js/dom.js';
import { uploadPage } from './js/upload-page.js';
import { userPage } from './js/user-page.js';

let stop = () => undefined;

function showLogin() {
  stop();
  $('login').hidden = false;
  $('nav').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
  $('view').replaceChildren();
}

function showApp(session) {
  setSession(session);
  $('login').hidden = true;
  $('nav').hidden = false;
  $('logout').hidden = false;
  $('who').textContent = `${session.who} (${session.role})`;
  route();
}

async function route() {
  stop();
  stop = () => undefined;
  flash('');
  const view = $('view');
  const [path, query = ''] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);
  const parts = (path || '/').split('/').filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === 'c' && parts.length === 2) stop = campaignPage(view, parts[1], params);
    else if (parts[0] === 'c' && parts[2] === 'u' && parts.length === 4) await userPage(view, parts[1], parts[3]);
    else if (parts[0] === 'audit') await auditPage(view, params);
    else if (parts[0] === 'upload') uploadPage(view);
    else await campaignsPage(view);
  } catch (error) {
    if (error.status === 401) return showLogin();
    fill(view, h('p', { className: 'error' }, error.message));
  }
}

$('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('login-error').textContent = '';
  try {
    const session = await api('POST', '/api/login', { token: $('token').value });
    $('token').value = '';
    showApp(session);
  } catch (error) {
    $('login-error').textContent = error.message;
  }
});

$('logout').addEventListener('click', async () => {
  await api('POST', '/api/logout').catch(() => undefined);
  setSession({});
  showLogin();
});

window.addEventListener('hashchange', () => {
  if (!$('login').hidden) return;
  route();
});

api('GET', '/api/session').then(showApp, showLogin);
