// Renders an authentication decision (verify, identify, session process-frame) for people: a plain
// headline, the reason in words from the message table, and (console only) the full JSON.
import { el, bdi, pct } from './dom.js';
import { t, tn } from './i18n.js';
import { explain, MESSAGES } from './messages.js';

/**
 * Why a decision failed, as precisely as the answer says: a liveness failure names its own reason
 * (`liveness_result.failure_reason`: the challenge's time ran out, a photo or screen, a still picture), which
 * tells the person what to do differently; LIVENESS_FAILED alone reads as "not a live person" even when the
 * time simply ran out.
 * @param {any} r a decision response
 * @returns {string | null}
 */
export function failureCode(r) {
  const reason = r?.result?.failure_reason ?? null;
  const live = r?.liveness_result?.failure_reason;
  return reason === 'LIVENESS_FAILED' && live && MESSAGES[live] ? live : reason;
}

/**
 * @param {HTMLElement} box
 * @param {any} r a decision response
 * @param {{ technical?: boolean }} [opts] technical: also the full response (console); the camera page leaves it out
 */
export function renderDecision(box, r, { technical = true } = {}) {
  const res = r.result ?? {};
  const ok = r.status === 'completed';
  const isId = Array.isArray(res.matches);
  let headline;
  if (isId) headline = res.matches.length ? tn(res.matches.length, '{n} match', '{n} matches') : t('No match');
  else headline = res.authenticated ? t('Authenticated') : t('Not authenticated');
  const code = failureCode(r);
  const why = code ? explain(code) : null;
  const best = isId ? res.matches[0] : undefined;
  const rows = [
    !isId && (res.user_id || res.user_name) ? [t('User'), [res.user_id, res.user_name].filter(Boolean).flatMap((v, i) => (i ? [' — ', bdi(v)] : [bdi(v)]))] : null,
    [t('Confidence'), pct(res.confidence ?? best?.confidence)],
    typeof res.liveness_score === 'number' ? [t('Liveness'), res.liveness_score.toFixed(2)] : null,
    [t('Quality'), typeof res.quality_score === 'number' ? res.quality_score.toFixed(2) : '—'],
    why ? [t('Reason'), why.text] : null,
    [t('Processing time'), typeof r.processing_time === 'number' ? `${Math.round(r.processing_time * 1000)} ms` : '—'],
  ].filter(Boolean);
  box.replaceChildren(
    el(
      'div',
      { class: `card result ${ok ? 'ok' : 'bad'}`, dataset: { status: r.status, reason: res.failure_reason } },
      el('div', { class: 'headline', text: headline }),
      why && !ok ? el('p', { class: 'help', text: why.help }) : null,
      el('dl', { class: 'kv' }, ...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, ...[v].flat())])),
      isId && res.matches.length ? el('ol', { class: 'matches' }, ...res.matches.map((m) => el('li', {}, bdi(m.user_id), ' — ', bdi(m.name ?? ''), ` (${pct(m.confidence)})`))) : null,
      technical ? el('details', {}, el('summary', { text: t('Full response') }), el('pre', { text: JSON.stringify(r, null, 2) })) : null,
    ),
  );
  return box.firstElementChild;
}
