// Face sign-in page of an OpenID Connect interaction (docs/sso.md). Its only credential is the
// provider's interaction cookie: the server holds the face session and decides the outcome; this page
// sends camera frames and follows the redirect the server gives when the sign-in ends.
import '/app/assets/page.js';
import { t, tn } from '/app/assets/i18n.js';
import { explain, instruction, line } from '/app/assets/messages.js';
import { createFrameLoop } from '/app/camera/frame-loop.js';
import { createFaceGuide } from '/app/camera/face-guide.js';
import { createCountdown } from '/app/camera/coach.js';

const $ = (s) => document.querySelector(s);
const base = location.pathname.replace(/\/$/, '');
// Challenges and problems are said in words from the message table (web/assets/messages.js).
const CHALLENGES = { get: (c) => instruction(c) };
// Problems of one frame: the server keeps the sign-in open, so the loop says what to do and goes on
// (a frame sent too fast or a face engine briefly away included).
const FRAME_HINTS = new Set(['NO_FACE_DETECTED', 'MULTIPLE_FACES', 'POOR_IMAGE_QUALITY', 'FACE_MISMATCH', 'SERVICE_BUSY', 'SERVICE_UNAVAILABLE', 'FRAME_RATE_EXCEEDED']);
const hint = (code) => `${explain(code).text} ${explain(code).help}`;

const video = $('#video');
let loop = null;
let stream = null;
/** The oval on the face the server reports, green for a good frame; its ring counts the challenges met. */
const faceGuide = createFaceGuide($('#preview'));
faceGuide.reset();
/** The current challenge's time left: in words and as the ring's inner arc (as on the camera page). */
const countdown = createCountdown((secs, fraction) => {
  $('#countdown').textContent = secs === null ? '—' : tn(secs, '{n} second', '{n} seconds');
  faceGuide.time(secs === null ? null : fraction);
});
let answers = 0;
let issued = 0;

function guide(text, tone) {
  $('#guidance').textContent = text;
  faceGuide.tone(tone);
}
function showLiveness(l) {
  if (l && 'current_challenge' in l) $('#challenge').textContent = l.current_challenge ? CHALLENGES.get(l.current_challenge) : t('Done');
  if (l && Array.isArray(l.challenges_completed)) {
    issued = Math.max(issued, l.challenges_completed.length + (l.challenges_remaining ?? 0));
    faceGuide.progress(l.challenges_completed.length, issued);
  }
  if (l && 'current_challenge' in l) countdown.set(l.current_challenge, l.challenge_expires_at);
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
  countdown.stop();
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
    issued = 0;
    guide(line('outcome.retrying'), 'bad');
    $('#attempts').textContent = String(r.attempts_remaining);
    showLiveness(r.liveness);
    return true;
  }
  showLiveness(r.liveness);
  faceGuide.face(r.face ?? null);
  const l = r.liveness;
  const c = l?.current_challenge;
  const other = (r.feedback?.suggestions ?? []).find((x) => x !== c);
  // Green only for a good frame with nothing to fix besides the challenge itself.
  const good = r.face_detected !== false && (r.quality_score ?? 0) >= 0.45 && !other;
  guide(c && !other ? CHALLENGES.get(c) : other ? instruction(other) : line('guide.hold_still'), good ? 'good' : 'bad');
  return true;
}

async function sendFrame(blob) {
  const fd = new FormData();
  fd.append('frame', blob, 'frame.jpg');
  try {
    const r = await call('/frame', fd);
    answers += 1;
    return onAnswer(r);
  } catch (e) {
    answers += 1;
    faceGuide.face(null);
    if (FRAME_HINTS.has(e.code)) {
      guide(hint(e.code), 'bad');
      return true;
    }
    showError(e);
    guide(line('guide.stopped'), 'bad');
    return false;
  } finally {
    faceGuide.answered(answers);
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
