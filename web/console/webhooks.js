// Webhooks panel: endpoints (list, create, test, delete) and delivery logs with filters.
import { api } from '/app/assets/api.js';
import { $, el, busy, fmtDate, formValues, showNote } from '/app/assets/dom.js';

/** The events of the guide (docs/webhooks.md); webhook.test is sent only by the test button. */
const EVENTS = ['enrollment.completed', 'enrollment.failed', 'authentication.success', 'authentication.failed', 'liveness.failed', 'user.created', 'user.updated'];

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
            el('td', { class: 'mono', text: w.url }),
            el('td', { text: w.events.join(', ') }),
            el('td', {}, el('span', { class: `badge ${w.is_active ? 'ok' : 'bad'}`, text: w.is_active ? 'active' : 'paused' })),
            el('td', { text: `${w.retry_policy.max_retries}× ${w.retry_policy.backoff_strategy} ${w.retry_policy.retry_delay}s` }),
            el('td', { text: fmtDate(w.created_at) }),
            el(
              'td',
              { class: 'actions' },
              el('button', { type: 'button', class: 'small secondary', 'aria-label': `Send a test event to ${w.url}`, onclick: (e) => void testEndpoint(w, e.currentTarget) }, 'Test'),
              el('button', { type: 'button', class: 'small danger', 'aria-label': `Delete endpoint ${w.url}`, onclick: () => void removeEndpoint(w) }, 'Delete'),
            ),
          ),
        ),
      );
      if (p.results.length === 0) tb.append(el('tr', {}, el('td', { colspan: 6, class: 'muted', text: 'No webhook endpoints.' })));
    });
  }

  async function testEndpoint(w, button) {
    showNote($('#endpoints-note'), '');
    await busy(button, $('#endpoints-error'), async () => {
      const d = await api(`/webhooks/endpoints/${encodeURIComponent(w.id)}/test/`, { method: 'POST', auth: ctx.auth() });
      showNote($('#endpoints-note'), `Test delivery ${d.status}${d.last_status_code ? ` (HTTP ${d.last_status_code})` : ''}${d.last_error ? `: ${d.last_error}` : ''}.`);
      await loadLogs();
    });
  }

  async function removeEndpoint(w) {
    if (!confirm(`Delete the endpoint ${w.url} and its delivery logs?`)) return;
    await busy(null, $('#endpoints-error'), async () => {
      await api(`/webhooks/endpoints/${encodeURIComponent(w.id)}/`, { method: 'DELETE', auth: ctx.auth() });
      await Promise.all([loadEndpoints(), loadLogs()]);
    });
  }

  async function loadLogs() {
    await busy(null, $('#logs-error'), async () => {
      const p = await api('/webhooks/logs/', { auth: ctx.auth(), query: { page: logs.page, page_size: 20, ...logs.filters } });
      logs.totalPages = Math.max(1, p.total_pages);
      const tb = $('#logs-table tbody');
      tb.replaceChildren(
        ...p.results.map((d) =>
          el(
            'tr',
            {},
            el('td', { text: fmtDate(d.created_at) }),
            el('td', { class: 'mono', text: d.event_type }),
            el('td', { class: 'mono', text: d.url }),
            el('td', {}, el('span', { class: `badge ${d.status === 'delivered' ? 'ok' : d.status === 'failed' ? 'bad' : ''}`, text: d.status })),
            el('td', { text: String(d.attempts) }),
            el('td', { text: d.last_status_code ?? '—' }),
            el('td', { text: d.last_error ?? '' }),
            el('td', { class: 'actions' }, d.status === 'failed' ? el('button', { type: 'button', class: 'small secondary', onclick: (e) => void retry(d, e.currentTarget) }, 'Retry') : null),
          ),
        ),
      );
      if (p.results.length === 0) tb.append(el('tr', {}, el('td', { colspan: 8, class: 'muted', text: 'No deliveries.' })));
      $('#logs-page').textContent = `Page ${p.page} of ${logs.totalPages} · ${p.count}`;
      $('#logs-prev').disabled = logs.page <= 1;
      $('#logs-next').disabled = logs.page >= logs.totalPages;
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
      showNote(note, w.secret ? `Created. Signing secret (shown once): ${w.secret}` : 'Created.');
      await loadEndpoints();
    });
  });

  $('#logs-filter').addEventListener('submit', (e) => {
    e.preventDefault();
    logs.filters = formValues(e.currentTarget);
    logs.page = 1;
    void loadLogs();
  });
  $('#logs-prev').addEventListener('click', () => {
    logs.page = Math.max(1, logs.page - 1);
    void loadLogs();
  });
  $('#logs-next').addEventListener('click', () => {
    logs.page = Math.min(logs.totalPages, logs.page + 1);
    void loadLogs();
  });

  return { show: () => Promise.all([loadEndpoints(), loadLogs()]) };
}
