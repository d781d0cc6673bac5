// Audit-log tab: GET /api/analytics/audit-logs/ (docs/analytics.md M6), newest first, filtered by
// category and date range, paged by the API's cursor; says so when nothing matches instead of showing an
// empty table.
import { api } from '/app/assets/api.js';
import { t, tn } from '/app/assets/i18n.js';
import { explain } from '/app/assets/messages.js';
import { $, el, bdi, busy, fmtDate, formValues, isolate, showPage } from '/app/assets/dom.js';
import { clip } from './cells.js';

const PAGE_SIZE = 20;

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
  // Next follows the page's next_cursor, which continues right after its last entry over page 1's window:
  // pages by offset skipped an entry when one before it was removed (retention, a deleted user) and
  // repeated one when one arrived inside the window. `back` keeps the cursor of every page behind this
  // one for Previous (null: page 1, read again over `window`, the window of its first reading, so going
  // back shows the same walk; Filter starts a new one).
  const state = { page: 1, filters: {}, window: null, cursor: null, next: null, back: [] };
  let asked = 0;

  /** Reads the page at `cursor` (null: page 1); once it is shown, `back` is the way back from it. */
  async function load(cursor, back) {
    const mine = ++asked;
    await busy(null, $('#audit-error'), async () => {
      const query = cursor ? { cursor, page_size: PAGE_SIZE } : { page_size: PAGE_SIZE, ...state.filters, ...state.window };
      const p = await api('/analytics/audit-logs/', { auth: ctx.auth(), query });
      if (mine !== asked) return; // a later click or filter has taken over
      state.window ??= { start_date: p.start_date, end_date: p.end_date };
      Object.assign(state, { cursor, back, next: p.next_cursor, page: p.page });
      $('#audit-table tbody').replaceChildren(...p.results.map(row));
      const empty = $('#audit-empty');
      empty.hidden = p.results.length > 0;
      empty.textContent = p.results.length ? '' : t('No audit entries match these filters in this period. Change the category or the dates.');
      $('#audit-table').hidden = p.results.length === 0;
      showPage('audit', state, { ...p, total_pages: Math.max(p.total_pages, p.page) }, tn(p.count, '{n} entry', '{n} entries'));
      $('#audit-prev').disabled = state.back.length === 0;
      $('#audit-next').disabled = !state.next;
    });
  }

  function row(a) {
    const details = describe(a.details);
    return el(
      'tr',
      { dataset: { id: a.id, source: a.source, category: a.category, action: a.action } },
      el('td', { text: fmtDate(a.timestamp) }),
      el('td', { text: t(CATEGORY[a.category] ?? a.category) }),
      el('td', { class: 'mono', text: a.action }),
      el('td', { class: 'mono', text: a.actor ?? '—' }),
      el('td', { class: 'mono' }, a.target ? clip(a.target) : '—'),
      el('td', { class: 'mono', text: a.ip ?? '—' }),
      el('td', {}, details.length ? clip(details, details.map((x) => (typeof x === 'string' ? x : isolate(x.textContent))).join('')) : null),
    );
  }

  $('#audit-filter').addEventListener('submit', (e) => {
    e.preventDefault();
    Object.assign(state, { filters: formValues(e.currentTarget), window: null });
    void load(null, []);
  });
  $('#audit-next').addEventListener('click', () => {
    if (state.next) void load(state.next, [...state.back, state.cursor]);
  });
  $('#audit-prev').addEventListener('click', () => {
    if (state.back.length) void load(state.back.at(-1), state.back.slice(0, -1));
  });

  return {
    // Back on the tab: page 1 from the newest entry, a later page as it was (the walk goes on).
    show: () => {
      if (!state.cursor) state.window = null;
      return load(state.cursor, state.back);
    },
  };
}
