// Dashboard panel: GET /api/analytics/dashboard/ headline numbers with trends.
import { api } from '/app/assets/api.js';
import { $, el, busy, pct } from '/app/assets/dom.js';

export function initDashboard(ctx) {
  const box = $('#dash-metrics');
  const err = $('#dash-error');

  async function load() {
    await busy($('#dash-refresh'), err, async () => {
      const d = await api('/analytics/dashboard/', { auth: ctx.auth(), query: { period: $('#dash-period').value } });
      const m = d.metrics;
      const t = d.trends;
      const card = (id, label, value, trend) =>
        el('div', { class: 'metric', dataset: { metric: id } }, el('div', { class: 'label', text: label }), el('div', { class: 'value', text: value }), trend ? el('div', { class: 'trend muted', text: `${trend} vs previous period` }) : null);
      box.replaceChildren(
        card('total_authentications', 'Authentications', String(m.total_authentications), t.authentications_trend),
        card('successful_rate', 'Success rate', pct(m.successful_rate), t.success_rate_trend),
        card('average_response_time', 'Average response time', `${Math.round(m.average_response_time * 1000)} ms`, t.response_time_trend),
        card('unique_users', 'Unique users', String(m.unique_users)),
        card('peak_concurrent_sessions', 'Peak concurrent sessions', String(m.peak_concurrent_sessions)),
      );
    });
  }

  $('#dash-refresh').addEventListener('click', () => void load());
  $('#dash-period').addEventListener('change', () => void load());
  return { show: load };
}
