// Face sign-in page of an OpenID Connect interaction (docs/sso.md). Its only credential is the
// provider's interaction cookie: the server holds the face session and decides the outcome; this page
// sends camera frames and follows the redirect the server gives when the sign-in ends.
import '/app/assets/page.js';
import { t } from '/app/assets/i18n.js';
import { explain, instruction, line } from '/app/assets/messages.js';
import { createFrameLoop } from '/app/camera/frame-loop.js';

const $ = (s) => document.querySelector(s);
const base = location.pathname.replace(/\/$/, '');
// Challenges and problems are said in words from the message table (web/assets/messages.js).
const CHALLENGES = { get: (c) => instruction(c) };
const FRAME_HINTS = new Set(['NO_FACE_DETECTED', 'MULTIPLE_FACES', 'POOR_IMAGE_QUALITY', 'FACE_MISMATCH', 'SERVICE_BUSY']);
const hint = (code) => `${explain(code).text} ${explain(code).help}`;

const video = $('#video');
let loop = null;
let stream = null;

function guide(text, tone) {
  $('#guidance').textContent = text;
  $('#preview').classList.toggle('state-good', tone === 'good');
  $('#preview').classList.toggle('state-bad', tone === 'bad');
}
function showLiveness(l) {
  if (l && 'current_challenge' in l) $('#challenge').textContent = l.current_challenge ? CHALLENGES.get(l.current_challenge) : t('Done');
}
/** A failure in plain words (never the raw code, which stays in data-code). */
function showError(err) {
  const a = $('#alert');
  a.hidden = !err;
  if (!err) return (a.textContent = '');
  const x = explain(err.code ? err : { code: err.status >= 500 ? 'INTERNAL_ERROR' : 'FAILED' });
  a.dataset.code = x.code;
  a.textContent = `${x.text} ${x.help}`;
}

async function call(path, body) {
  const res = await fetch(`${base}${path}`, { method: 'POST', body, credentials: 'same-origin' });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(data.message ?? `HTTP ${res.status}`), { code: data.code, status: res.status });
  return data;
}

function leave(to) {
  loop?.stop();
  for (const t of stream?.getTracks() ?? []) t.stop();
  location.assign(to);
}

function onAnswer(r) {
  if (r.status === 'completed') {
    guide(t('Signed in. Returning to the application…'), 'good');
    leave(r.redirect_to);
    return false;
  }
  if (r.status === 'denied') {
    guide(t('Sign-in refused. Returning to the application…'), 'bad');
    leave(r.redirect_to);
    return false;
  }
  if (r.status === 'retry') {
    guide(line('outcome.retrying'), 'bad');
    $('#attempts').textContent = String(r.attempts_remaining);
    showLiveness(r.liveness);
    return true;
  }
  showLiveness(r.liveness);
  const l = r.liveness;
  const s = r.feedback?.suggestions?.[0];
  guide(l?.current_challenge ? CHALLENGES.get(l.current_challenge) : s ? instruction(s) : line('guide.hold_still'), 'good');
  return true;
}

async function sendFrame(blob) {
  const fd = new FormData();
  fd.append('frame', blob, 'frame.jpg');
  try {
    return onAnswer(await call('/frame', fd));
  } catch (e) {
    if (FRAME_HINTS.has(e.code)) {
      guide(hint(e.code), 'bad');
      return true;
    }
    showError(e);
    guide(line('guide.stopped'), 'bad');
    return false;
  }
}

async function start() {
  showError(null);
  $('#start').disabled = true;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' }, audio: false });
    video.srcObject = stream;
    await video.play().catch(() => {});
    $('#camera-off').hidden = true;
    $('#preview').classList.add('live', 'running');
    const s = await call('/start');
    if (s.status === 'denied') return leave(s.redirect_to);
    $('#attempts').textContent = String(s.attempts_remaining + 1);
    if (s.application?.name) $('#application').textContent = t('Signing in to {app}', { app: s.application.name });
    showLiveness(s.liveness);
    guide(s.liveness?.current_challenge ? CHALLENGES.get(s.liveness.current_challenge) : line('guide.look'), 'good');
    loop = createFrameLoop({ video, intervalMs: 120, onFrame: sendFrame });
    loop.start();
  } catch (e) {
    const denied = e?.name === 'NotAllowedError' || e?.name === 'SecurityError';
    showError(e?.name && !e.code ? { code: denied ? 'CAMERA_DENIED' : 'CAMERA_UNAVAILABLE' } : e);
    guide(line('guide.stopped'), 'bad');
    $('#start').disabled = false;
  }
}

$('#start').addEventListener('click', () => void start());
$('#cancel').addEventListener('click', async (ev) => {
  ev.preventDefault();
  loop?.stop();
  // The application learns that the person cancelled (access_denied) and the browser goes back to it.
  try {
    const r = await call('/cancel');
    guide(t('Cancelled. Returning to the application…'), 'bad');
    leave(r.redirect_to);
  } catch {
    guide(t('Cancelled. Close this page or start again from the application.'), 'bad');
  }
});
