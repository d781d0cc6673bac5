// Audit-log tab: GET /api/analytics/audit-logs/ (docs/analytics.md M6), newest first, filtered by
// category and date range, paged; says so when nothing matches instead of showing an empty table.
import { api } from '/app/assets/api.js';
import { t, tn } from '/app/assets/i18n.js';
import { explain } from '/app/assets/messages.js';
import { $, el, bdi, busy, fmtDate, formValues, showPage, wirePager } from '/app/assets/dom.js';

const CATEGORY = {
  authentication: 'Authentication',
  enrollment: 'Enrollment',
  configuration: 'Configuration',
  security: 'Security',
  face_data_access: 'Access to face data',
  api_access: 'API access',
};

/**
 * The details worth reading, in words where the message table has them (never templates or secrets: the API
 * omits those), as child nodes: each stored value in its own <bdi>, so a name cannot reorder the rest.
 */
function describe(details) {
  if (!details || typeof details !== 'object') return [];
  const parts = [];
  for (const [k, v] of Object.entries(details)) {
    if (v === null || v === undefined || k === 'user_agent' || k === 'user_id') continue;
    if (k === 'failure_reason') parts.push(explain(String(v)).text);
    else if (k === 'ms' || k === 'processing_ms') parts.push(t('{n} ms', { n: v }));
    else if (k === 'confidence' && typeof v === 'number') parts.push(t('confidence {n} %', { n: Math.round(v * 100) }));
    else if (typeof v !== 'object') parts.push(el('span', {}, `${k}: `, bdi(v)));
  }
  return parts.flatMap((x, i) => (i ? [' · ', x] : [x]));
}

export function initAudit(ctx) {
  // `window`: the exact window page 1 was read over. Without dates it ends "now", and every request adds its
  // own API-access entry on top of the feed: pages after the first keep page 1's window, or each would
  // start one entry later and repeat the previous page's last row.
  const state = { page: 1, totalPages: 1, filters: {}, window: null };

  async function load() {
    await busy(null, $('#audit-error'), async () => {
      const pinned = state.page > 1 && state.window ? state.window : {};
      const p = await api('/analytics/audit-logs/', { auth: ctx.auth(), query: { page: state.page, page_size: 20, ...state.filters, ...pinned } });
      if (state.page === 1) state.window = { start_date: p.start_date, end_date: p.end_date };
      const tb = $('#audit-table tbody');
      tb.replaceChildren(
        ...p.results.map((a) =>
          el(
            'tr',
            { dataset: { id: a.id, category: a.category, action: a.action } },
            el('td', { text: fmtDate(a.timestamp) }),
            el('td', { text: t(CATEGORY[a.category] ?? a.category) }),
            el('td', { class: 'mono', text: a.action }),
            el('td', { class: 'mono', text: a.actor ?? '—' }),
            el('td', { class: 'mono', text: a.target ?? '—' }),
            el('td', { class: 'mono', text: a.ip ?? '—' }),
            el('td', {}, ...describe(a.details)),
          ),
        ),
      );
      const empty = $('#audit-empty');
      empty.hidden = p.results.length > 0;
      empty.textContent = p.results.length ? '' : t('No audit entries match these filters in this period. Change the category or the dates.');
      $('#audit-table').hidden = p.results.length === 0;
      showPage('audit', state, p, tn(p.count, '{n} entry', '{n} entries'));
    });
  }

  $('#audit-filter').addEventListener('submit', (e) => {
    e.preventDefault();
    state.filters = formValues(e.currentTarget);
    state.page = 1;
    void load();
  });
  wirePager('audit', state, load);

  return { show: load };
}
