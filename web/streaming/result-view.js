// What the streaming page shows for each message of the data channel, in plain words of the page's
// language: who was recognised (or not, and why), the liveness state, and the face's box on the video.
// Codes never reach the text; they stay in data attributes for tests and support.
import { $, el } from '/app/assets/dom.js';
import { t } from '/app/assets/i18n.js';
import { explain, instruction } from '/app/assets/messages.js';
import { mapFaceBox } from '/app/camera/face-guide.js';

const pct = (x) => `${Math.round(x * 100)} %`;

/** Puts the box of the reported face on the (mirrored, cover-fitted) preview; null hides it. */
function drawFace(face, ok) {
  const box = $('#face-box');
  const preview = $('#preview');
  if (!face?.box || !preview.classList.contains('live')) {
    box.hidden = true;
    return;
  }
  const view = { width: preview.clientWidth, height: preview.clientHeight };
  const b = mapFaceBox(face, view);
  box.hidden = false;
  box.classList.toggle('ok', ok);
  Object.assign(box.style, { left: `${(100 * b.x) / view.width}%`, top: `${(100 * b.y) / view.height}%`, width: `${(100 * b.width) / view.width}%`, height: `${(100 * b.height) / view.height}%` });
}

/** The who-card: a headline, details, and the outcome in data attributes. */
function showWho(outcome, headline, details = [], userId = '') {
  const card = $('#who');
  card.dataset.outcome = outcome;
  card.dataset.userId = userId;
  card.classList.toggle('ok', outcome === 'recognised');
  card.classList.toggle('bad', outcome === 'not_recognised');
  $('#who-headline').textContent = headline;
  $('#who-details').replaceChildren(...details.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));
}

function showLiveness(state, text, code = '') {
  const p = $('#liveness');
  p.dataset.state = state;
  p.dataset.code = code;
  p.textContent = text;
}

/** Challenges issued in this stream's current liveness session (met plus remaining, as first seen). */
let issued = 0;
/** The stream starts the next liveness check right after a verdict: the verdict stays readable this long. */
const VERDICT_HOLD_MS = 3000;
let verdictUntil = 0;

/** Shows one data-channel message. */
export function showMessage(message) {
  $('#last').textContent = JSON.stringify(message, null, 2);
  if (message.type === 'error') {
    if (message.code === 'NO_FACE_DETECTED') {
      drawFace(null);
      showWho('no_face', t('No face in view.'), [[t('Next step'), explain('NO_FACE_DETECTED').help]]);
    } else if (message.code !== 'SESSION_EXPIRED') {
      const x = explain(message.code);
      showWho('error', x.text, [[t('Next step'), x.help]]);
    }
    return;
  }
  if (message.type !== 'recognition_result') return;
  const r = message.result ?? {};
  const res = r.result ?? {};
  // Liveness: the challenge under way, or the verdict.
  if (r.status === 'processing' && r.liveness) {
    const done = r.liveness.challenges_completed?.length ?? 0;
    issued = Math.max(issued, done + (r.liveness.challenges_remaining ?? 0));
    const c = r.liveness.current_challenge;
    if (Date.now() >= verdictUntil) showLiveness('checking', c ? t('Checking: {instruction} ({done} of {total} done)', { instruction: instruction(c), done, total: issued }) : t('Checking that a live person is in front of the camera…'));
    drawFace(r.face, false);
    // After a decision the stream starts the next check at once: the last decision stays on screen meanwhile.
    const shown = $('#who').dataset.outcome;
    if (shown !== 'recognised' && shown !== 'not_recognised') showWho('checking', t('Checking that a live person is in front of the camera…'));
    return;
  }
  if (r.liveness_result) {
    issued = 0;
    verdictUntil = Date.now() + VERDICT_HOLD_MS;
    const lr = r.liveness_result;
    if (lr.passed) showLiveness('passed', t('Passed: a live person is in front of the camera.'));
    else showLiveness('failed', `${t('Failed:')} ${explain(lr.failure_reason ?? 'LIVENESS_FAILED').text}`, lr.failure_reason ?? 'LIVENESS_FAILED');
  }
  const best = Array.isArray(res.matches) ? res.matches[0] : null;
  const recognised = Array.isArray(res.matches) ? Boolean(best) && r.status === 'completed' : res.authenticated === true;
  drawFace(r.face, recognised);
  if (recognised) {
    const name = best ? best.name || best.user_id : res.user_name || res.user_id;
    const userId = best ? best.user_id : res.user_id;
    const confidence = best ? best.confidence : res.confidence;
    showWho('recognised', Array.isArray(res.matches) ? t('Recognised: {name}', { name }) : t('Verified: {name}', { name }), [
      [t('User'), userId],
      [t('Confidence'), typeof confidence === 'number' ? pct(confidence) : '—'],
    ], userId);
    return;
  }
  const x = explain(res.failure_reason ?? (Array.isArray(res.matches) ? 'NO_MATCH' : 'LOW_CONFIDENCE'));
  showWho('not_recognised', Array.isArray(res.matches) ? t('Not recognised.') : t('Not verified.'), [[t('Why'), x.text], [t('Next step'), x.help]]);
  $('#who').dataset.reason = x.code;
}

/** Back to the resting state (a new stream, or stopped). */
export function resetView({ liveness }) {
  issued = 0;
  verdictUntil = 0;
  drawFace(null);
  showWho('none', t('No result yet.'));
  delete $('#who').dataset.reason;
  showLiveness(liveness ? 'waiting' : 'off', liveness ? t('Waiting for the first picture…') : t('Not requested.'));
  $('#last').textContent = '';
}
