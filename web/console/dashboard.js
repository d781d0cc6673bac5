// Dashboard panel: headline numbers (GET /api/analytics/dashboard/) and charts of the series the
// analytics API returns (statistics, user-behavior, model-performance), drawn with Chart.js served
// from node_modules (/app/vendor/chart.js/). Counts are decisions (authentication attempts), not frames.
// With no data the panel says so instead of showing "0 %".
import { api } from '/app/assets/api.js';
import { $, el, busy, pct } from '/app/assets/dom.js';
import { t, locale } from '/app/assets/i18n.js';
import { explain } from '/app/assets/messages.js';

const charts = new Map();

function draw(name, config) {
  charts.get(name)?.destroy();
  const box = $(`[data-chart=${name}]`);
  const canvas = box.querySelector('canvas');
  const Chart = window.Chart;
  if (!Chart) return;
  const css = getComputedStyle(document.documentElement);
  Chart.defaults.color = css.getPropertyValue('--text').trim() || '#1b2430';
  Chart.defaults.borderColor = css.getPropertyValue('--border').trim() || '#d3dae2';
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  charts.set(name, new Chart(canvas, { ...config, options: { responsive: true, maintainAspectRatio: false, animation: false, ...config.options } }));
}

/** Shows the chart's canvas, or its empty-state sentence when there is nothing to plot. */
function chartCard(name, empty, emptyText) {
  const box = $(`[data-chart=${name}]`);
  box.querySelector('.chart-area').hidden = empty;
  const note = box.querySelector('.empty');
  note.hidden = !empty;
  note.textContent = empty ? emptyText : '';
  if (empty) charts.get(name)?.destroy(), charts.delete(name);
  return !empty;
}

/** Splits a long label into lines of about `width` characters (Chart.js draws an array as lines). */
function wrap(text, width) {
  const lines = [''];
  for (const word of text.split(' ')) {
    if (lines.at(-1).length + word.length > width && lines.at(-1)) lines.push('');
    lines[lines.length - 1] += (lines.at(-1) ? ' ' : '') + word;
  }
  return lines;
}

const colour = (v) => getComputedStyle(document.documentElement).getPropertyValue(v).trim();

function bucketLabel(iso, granularity) {
  const d = new Date(iso);
  return granularity === 'hour' ? d.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString(locale, { day: 'numeric', month: 'short' });
}

export function initDashboard(ctx) {
  const box = $('#dash-metrics');
  const err = $('#dash-error');

  async function load() {
    await busy($('#dash-refresh'), err, async () => {
      const period = $('#dash-period').value;
      const q = { auth: ctx.auth(), query: { period } };
      const [d, stats, behaviour, model] = await Promise.all([
        api('/analytics/dashboard/', q),
        api('/analytics/statistics/', q),
        api('/analytics/user-behavior/', q),
        api('/analytics/model-performance/', q),
      ]);
      const m = d.metrics;
      const tr = d.trends;
      const none = m.total_authentications === 0;
      const card = (id, label, value, trend) =>
        el('div', { class: 'metric', dataset: { metric: id } }, el('div', { class: 'label', text: label }), el('div', { class: 'value', text: value }), trend ? el('div', { class: 'trend muted', text: t('{trend} vs previous period', { trend }) }) : null);
      box.replaceChildren(
        card('total_authentications', t('Authentications (decisions)'), String(m.total_authentications), none ? null : tr.authentications_trend),
        card('successful_rate', t('Success rate'), none ? '—' : pct(m.successful_rate), none ? null : tr.success_rate_trend),
        card('average_response_time', t('Average response time'), none ? '—' : `${Math.round(m.average_response_time * 1000)} ms`, none ? null : tr.response_time_trend),
        card('unique_users', t('Unique users recognised'), String(m.unique_users)),
        card('peak_concurrent_sessions', t('Peak concurrent sessions'), String(m.peak_concurrent_sessions)),
      );
      const emptyBox = $('#dash-empty');
      emptyBox.hidden = !none;
      emptyBox.textContent = none ? t('No authentications in this period yet. The numbers and charts fill in after the first face check.') : '';

      const series = stats.series;
      const labels = series.map((s) => bucketLabel(s.timestamp, stats.granularity));
      if (chartCard('trend', stats.totals.authentications === 0, t('No authentications to plot in this period.')))
        draw('trend', {
          type: 'bar',
          data: {
            labels,
            datasets: [
              { label: t('Successful'), data: series.map((s) => s.successes), backgroundColor: colour('--ok') },
              { label: t('Failed'), data: series.map((s) => s.failures), backgroundColor: colour('--bad') },
            ],
          },
          options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
        });

      const reasons = behaviour.success_failure.failure_reasons;
      if (chartCard('reasons', reasons.length === 0, t('No failed authentications in this period.')))
        draw('reasons', {
          type: 'bar',
          data: { labels: reasons.map((r) => wrap(explain(r.reason).text, 26)), datasets: [{ label: t('Failures'), data: reasons.map((r) => r.count), backgroundColor: colour('--bad') }] },
          options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
        });

      const l = model.liveness;
      if (chartCard('liveness', l.checks === 0, t('No liveness checks in this period.')))
        draw('liveness', {
          type: 'doughnut',
          data: { labels: [t('Live person confirmed'), t('Not confirmed')], datasets: [{ data: [l.passed, l.failed], backgroundColor: [colour('--ok'), colour('--bad')] }] },
        });

      const timed = series.filter((s) => s.average_response_time !== null);
      if (chartCard('latency', timed.length === 0, t('No response times to plot in this period.')))
        draw('latency', {
          type: 'line',
          data: { labels, datasets: [{ label: t('Average response time (ms)'), data: series.map((s) => (s.average_response_time === null ? null : Math.round(s.average_response_time * 1000))), borderColor: colour('--accent'), spanGaps: true }] },
          options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
        });
    });
  }

  $('#dash-refresh').addEventListener('click', () => void load());
  $('#dash-period').addEventListener('change', () => void load());
  return { show: load };
}
