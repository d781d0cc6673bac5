// Console entry: sign-in (client or operator), tabs, and wiring of the panels.
import { api, clientAuth, adminAuth } from '/app/assets/api.js';
import { $, $$, busy, formValues } from '/app/assets/dom.js';
import '/app/assets/page.js';
import { t } from '/app/assets/i18n.js';
import { clearSecrets } from '/app/assets/secret.js';
import { loadCredentials, saveCredentials, clearCredentials, loadAdminToken, saveAdminToken, clearAdminToken } from '/app/assets/session.js';
import { initUsers } from './users.js';
import { initFace } from './face.js';
import { initWebhooks } from './webhooks.js';
import { initDashboard } from './dashboard.js';
import { initOperator } from './operator.js';
import { initAudit } from './audit.js';
import { initSso } from './sso.js';
import { initReviews } from './reviews.js';

/** What every panel needs: the current Authorization header. */
const ctx = {
  auth: () => {
    const c = loadCredentials();
    return c ? clientAuth(c) : '';
  },
  adminAuth: () => adminAuth(loadAdminToken() ?? ''),
};

const panels = {
  dashboard: initDashboard(ctx),
  users: initUsers(ctx),
  face: initFace(ctx),
  webhooks: initWebhooks(ctx),
  reviews: initReviews(ctx),
  sso: initSso(ctx),
  audit: initAudit(ctx),
};
const operator = initOperator(ctx);

function showTab(name) {
  // Moving on hides whatever the previous tab showed once (secrets, test outcomes).
  const previous = sessionStorage.getItem('wajah.consoleTab');
  if (previous && previous !== name) panels[previous]?.hide?.();
  clearSecrets();
  for (const b of $$('nav.tabs button')) {
    if (b.dataset.tab === name) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  for (const p of $$('[data-panel]')) p.hidden = p.dataset.panel !== name;
  sessionStorage.setItem('wajah.consoleTab', name);
  void panels[name]?.show();
}

for (const b of $$('nav.tabs button')) b.addEventListener('click', () => showTab(b.dataset.tab));

function render() {
  const creds = loadCredentials();
  const admin = loadAdminToken();
  $('#signin').hidden = Boolean(creds || admin);
  $('#client-area').hidden = !creds;
  $('#operator-area').hidden = !admin || Boolean(creds);
  $('#sign-out').hidden = !(creds || admin);
  $('#who').textContent = creds ? t('Client key {key}…', { key: creds.apiKey.slice(0, 12) }) : admin ? t('Operator') : '';
  if (creds) showTab(sessionStorage.getItem('wajah.consoleTab') ?? 'users');
  else if (admin) void operator.show();
}

$('#client-signin').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  const { api_key, secret_key } = formValues(form);
  void busy(form.querySelector('button'), $('#client-signin-error'), async () => {
    // Any authenticated read checks the pair; a wrong one answers INVALID_CREDENTIALS.
    await api('/clients/users/', { auth: clientAuth({ apiKey: api_key, secretKey: secret_key }), query: { page_size: 1 } });
    saveCredentials(api_key, secret_key);
    form.reset();
    render();
  });
});

$('#admin-signin').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  const { token } = formValues(form);
  void busy(form.querySelector('button'), $('#admin-signin-error'), async () => {
    await api('/admin/clients/', { auth: adminAuth(token), query: { page_size: 1 } });
    saveAdminToken(token);
    form.reset();
    render();
  });
});

$('#sign-out').addEventListener('click', () => {
  clearCredentials();
  clearAdminToken();
  location.reload();
});

render();
