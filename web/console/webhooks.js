// Webhooks panel: endpoints (list, create, test, delete) and delivery logs with filters.
import { api } from '/app/assets/api.js';
import { t } from '/app/assets/i18n.js';
import { $, el, busy, fmtDate, formValues, showNote, showPage, wirePager } from '/app/assets/dom.js';
import { secretValue, showSecretBox, clearSecrets } from '/app/assets/secret.js';
import { clip } from './cells.js';

/** The events of the guide (docs/webhooks.md); webhook.test is sent only by the test button. */
const EVENTS = ['enrollment.completed', 'enrollment.failed', 'authentication.success', 'authentication.failed', 'liveness.failed', 'user.created', 'user.updated'];

/** Why a delivery did not arrive, in words (the receiver's raw error is shown beside it). */
function deliveryProblem(d) {
  const e = d.last_error ?? '';
  if (/ECONNREFUSED/i.test(e)) return t('the receiver refused the connection (nothing is listening at this address)');
  if (/ENOTFOUND|EAI_AGAIN/i.test(e)) return t('the host name could not be found');
  if (/timed? ?out|ETIMEDOUT|abort/i.test(e)) return t('the receiver did not answer in time');
  if (/ECONNRESET|socket hang up/i.test(e)) return t('the connection was cut off');
  if (/inactive/i.test(e)) return t('the endpoint is paused');
  if (/certificate|TLS|SSL/i.test(e)) return t('the receiver’s certificate was not accepted');
  if (d.last_status_code) return t('the receiver answered HTTP {code}', { code: d.last_status_code });
  return t('the receiver could not be reached');
}

export function initWebhooks(ctx) {
  const logs = { page: 1, totalPages: 1, filters: {} };
  const events = $('#endpoint-events');
  for (const ev of EVENTS) events.append(el('label', { class: 'inline' }, el('input', { type: 'checkbox', name: 'events', value: ev, checked: true }), ev));
  for (const ev of [...EVENTS, 'webhook.test']) $('#logs-event').append(el('option', { value: ev, text: ev }));

  async function loadEndpoints() {
    await busy(null, $('#endpoints-error'), async () => {
      const p = await api('/webhooks/endpoints/', { auth: ctx.auth(), query: { page_size: 100 } });
      const tb = $('#endpoints-table tbody');
      tb.replaceChildren(
        ...p.results.map((w) =>
          el(
            'tr',
            {},
            el('td', { class: 'mono' }, clip(w.url)),
            el('td', { text: w.events.join(', ') }),
            el('td', {}, el('span', { class: `badge ${w.is_active ? 'ok' : 'bad'}`, text: w.is_active ? t('active') : t('paused') })),
            el('td', { text: `${w.retry_policy.max_retries}× ${w.retry_policy.backoff_strategy} ${w.retry_policy.retry_delay}s` }),
            el('td', { text: fmtDate(w.created_at) }),
            el(
              'td',
              { class: 'actions' },
              el('button', { type: 'button', class: 'small secondary', 'aria-label': t('Send a test event to {url}', { url: w.url }), onclick: (e) => void testEndpoint(w, e.currentTarget) }, t('Test')),
              el('button', { type: 'button', class: 'small danger', 'aria-label': t('Delete endpoint {url}', { url: w.url }), onclick: () => void removeEndpoint(w) }, t('Delete')),
            ),
          ),
        ),
      );
      if (p.results.length === 0) tb.append(el('tr', {}, el('td', { colspan: 6, class: 'muted', text: t('No webhook endpoints.') })));
    });
  }

  async function testEndpoint(w, button) {
    showNote($('#endpoints-note'), '');
    showTestFailure(null);
    await busy(button, $('#endpoints-error'), async () => {
      const d = await api(`/webhooks/endpoints/${encodeURIComponent(w.id)}/test/`, { method: 'POST', auth: ctx.auth() });
      if (d.status === 'delivered') showNote($('#endpoints-note'), t('Test delivered (HTTP {code}).', { code: d.last_status_code }));
      else showTestFailure(d);
      await loadLogs();
    });
  }

  /** A test that did not arrive is shown as a failure, in words, with the receiver's raw answer below. */
  function showTestFailure(d) {
    const box = $('#endpoints-test-failed');
    box.hidden = !d;
    if (!d) return box.replaceChildren();
    const queued = d.status === 'pending' && !d.attempts;
    box.dataset.outcome = queued ? 'queued' : 'failed';
    box.replaceChildren(
      el('strong', { class: 'msg', text: queued ? t('The test is queued: this server sends no webhooks itself (WAJAH_WEBHOOKS=0).') : t('The test delivery failed: {why}.', { why: deliveryProblem(d) }) }),
      d.status === 'pending' && !queued ? el('span', { class: 'help', text: t('A retry is scheduled; see the delivery log below.') }) : null,
      d.last_error ? el('small', { class: 'error-code', translate: 'no', text: d.last_error }) : null,
    );
  }

  async function removeEndpoint(w) {
    if (!confirm(t('Delete the endpoint {url} and its delivery logs?', { url: w.url }))) return;
    await busy(null, $('#endpoints-error'), async () => {
      await api(`/webhooks/endpoints/${encodeURIComponent(w.id)}/`, { method: 'DELETE', auth: ctx.auth() });
      await Promise.all([loadEndpoints(), loadLogs()]);
    });
  }

  async function loadLogs() {
    await busy(null, $('#logs-error'), async () => {
      const p = await api('/webhooks/logs/', { auth: ctx.auth(), query: { page: logs.page, page_size: 20, ...logs.filters } });
      const tb = $('#logs-table tbody');
      tb.replaceChildren(
        ...p.results.map((d) =>
          el(
            'tr',
            {},
            el('td', { text: fmtDate(d.created_at) }),
            el('td', { class: 'mono', text: d.event_type }),
            el('td', { class: 'mono' }, clip(d.url)),
            el('td', {}, el('span', { class: `badge ${d.status === 'delivered' ? 'ok' : d.status === 'failed' ? 'bad' : ''}`, text: t(d.status) })),
            el('td', { text: String(d.attempts) }),
            el('td', { text: d.last_status_code ?? '—' }),
            el('td', {}, d.last_error ? clip(d.last_error) : null),
            el('td', { class: 'actions' }, d.status === 'failed' ? el('button', { type: 'button', class: 'small secondary', onclick: (e) => void retry(d, e.currentTarget) }, t('Retry')) : null),
          ),
        ),
      );
      if (p.results.length === 0) tb.append(el('tr', {}, el('td', { colspan: 8, class: 'muted', text: t('No deliveries.') })));
      showPage('logs', logs, p, String(p.count));
    });
  }

  async function retry(d, button) {
    await busy(button, $('#logs-error'), async () => {
      await api(`/webhooks/logs/${encodeURIComponent(d.id)}/retry/`, { method: 'POST', auth: ctx.auth() });
      await loadLogs();
    });
  }

  $('#endpoint-create').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const v = formValues(form);
    const note = form.querySelector('.note');
    showNote(note, '');
    void busy(form.querySelector('button'), form.querySelector('.alert'), async () => {
      const body = {
        url: v.url,
        events: new FormData(form).getAll('events'),
        is_active: form.is_active.checked,
        retry_policy: { max_retries: Number(v.max_retries || 3), backoff_strategy: v.backoff_strategy, retry_delay: Number(v.retry_delay || 30) },
        ...(v.secret ? { secret: v.secret } : {}),
      };
      const w = await api('/webhooks/endpoints/', { auth: ctx.auth(), json: body });
      form.url.value = '';
      form.secret.value = '';
      showNote(note, t('Created.'));
      if (w.secret) showSecretBox($('#endpoint-secret'), el('strong', { text: t('Signing secret (shown once):') }), ' ', secretValue(w.secret, { field: 'secret', label: t('signing secret') }));
      await loadEndpoints();
    });
  });

  $('#logs-filter').addEventListener('submit', (e) => {
    e.preventDefault();
    logs.filters = formValues(e.currentTarget);
    logs.page = 1;
    void loadLogs();
  });
  wirePager('logs', logs, loadLogs);

  return {
    show: () => Promise.all([loadEndpoints(), loadLogs()]),
    hide: () => {
      clearSecrets();
      showTestFailure(null);
      showNote($('#endpoints-note'), '');
    },
  };
}
