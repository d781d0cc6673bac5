// Renders an authentication decision (verify, identify, session process-frame) for people.
import { el, pct } from './dom.js';

/** Renders a decision response (verify/identify) as a short summary plus the raw JSON. */
export function renderDecision(box, r) {
  const res = r.result ?? {};
  const ok = r.status === 'completed';
  let headline;
  if (Array.isArray(res.matches)) {
    headline = res.matches.length ? `${res.matches.length} match${res.matches.length === 1 ? '' : 'es'}` : 'No match';
  } else {
    headline = res.authenticated ? 'Authenticated' : 'Not authenticated';
  }
  const best = Array.isArray(res.matches) ? res.matches[0] : undefined;
  const rows = [
    !Array.isArray(res.matches) && (res.user_id || res.user_name) ? ['User', [res.user_id, res.user_name].filter(Boolean).join(' — ')] : null,
    ['Confidence', pct(res.confidence ?? best?.confidence)],
    typeof res.liveness_score === 'number' ? ['Liveness', res.liveness_score.toFixed(2)] : null,
    ['Quality', typeof res.quality_score === 'number' ? res.quality_score.toFixed(2) : '—'],
    res.failure_reason ? ['Reason', res.failure_reason] : null,
    ['Processing time', typeof r.processing_time === 'number' ? `${Math.round(r.processing_time * 1000)} ms` : '—'],
  ].filter(Boolean);
  box.replaceChildren(
    el(
      'div',
      { class: `card result ${ok ? 'ok' : 'bad'}`, dataset: { status: r.status } },
      el('div', { class: 'headline', text: headline }),
      el('dl', { class: 'kv' }, ...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })])),
      Array.isArray(res.matches) && res.matches.length
        ? el('ol', { class: 'matches' }, ...res.matches.map((m) => el('li', { text: `${m.user_id} — ${m.name ?? ''} (${pct(m.confidence)})` })))
        : null,
      el('details', {}, el('summary', { text: 'Full response' }), el('pre', { text: JSON.stringify(r, null, 2) })),
    ),
  );
}
