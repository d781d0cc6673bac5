// Face sign-in page of an OpenID Connect interaction (docs/sso.md). Its only credential is the
// provider's interaction cookie: the server holds the face session and decides the outcome; this page
// sends camera frames and follows the redirect the server gives when the sign-in ends.
import { createFrameLoop } from '/app/camera/frame-loop.js';

const $ = (s) => document.querySelector(s);
const base = location.pathname.replace(/\/$/, '');
const CHALLENGES = {
  blink: 'Blink slowly',
  head_movement: 'Turn your head slowly to one side',
  turn_left: 'Turn your head to your left',
  turn_right: 'Turn your head to your right',
  nod: 'Nod your head',
  smile: 'Smile',
};
const FRAME_HINTS = {
  NO_FACE_DETECTED: 'No face seen: look at the camera, with light on your face.',
  MULTIPLE_FACES: 'Only one person in front of the camera, please.',
  POOR_IMAGE_QUALITY: 'The picture is not clear enough: more light, hold still.',
  FACE_MISMATCH: 'A different face appeared: only the person signing in, please.',
  SERVICE_BUSY: 'The server is busy, retrying…',
};

const video = $('#video');
let loop = null;
let stream = null;

function guide(text, tone) {
  $('#guidance').textContent = text;
  $('#preview').classList.toggle('state-good', tone === 'good');
  $('#preview').classList.toggle('state-bad', tone === 'bad');
}
function showLiveness(l) {
  if (l && 'current_challenge' in l) $('#challenge').textContent = l.current_challenge ? CHALLENGES[l.current_challenge] ?? l.current_challenge : 'done';
}
function showError(message) {
  const a = $('#alert');
  a.textContent = message;
  a.hidden = !message;
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
    guide('Signed in. Returning to the application…', 'good');
    leave(r.redirect_to);
    return false;
  }
  if (r.status === 'denied') {
    guide('Sign-in refused. Returning to the application…', 'bad');
    leave(r.redirect_to);
    return false;
  }
  if (r.status === 'retry') {
    guide(r.message, 'bad');
    $('#attempts').textContent = String(r.attempts_remaining);
    showLiveness(r.liveness);
    return true;
  }
  showLiveness(r.liveness);
  const l = r.liveness;
  guide(l?.current_challenge ? CHALLENGES[l.current_challenge] ?? r.feedback?.message : r.feedback?.message ?? 'Hold still.', 'good');
  return true;
}

async function sendFrame(blob) {
  const fd = new FormData();
  fd.append('frame', blob, 'frame.jpg');
  try {
    return onAnswer(await call('/frame', fd));
  } catch (e) {
    if (FRAME_HINTS[e.code]) {
      guide(FRAME_HINTS[e.code], 'bad');
      return true;
    }
    showError(`${e.message}${e.code ? ` (${e.code})` : ''}`);
    guide('Stopped.', 'bad');
    return false;
  }
}

async function start() {
  showError('');
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
    showLiveness(s.liveness);
    guide(s.liveness?.current_challenge ? CHALLENGES[s.liveness.current_challenge] : 'Look at the camera.', 'good');
    loop = createFrameLoop({ video, intervalMs: 120, onFrame: sendFrame });
    loop.start();
  } catch (e) {
    showError(`${e.message}${e.code ? ` (${e.code})` : ''}`);
    $('#start').disabled = false;
  }
}

$('#start').addEventListener('click', () => void start());
$('#cancel').addEventListener('click', (ev) => {
  ev.preventDefault();
  loop?.stop();
  guide('Cancelled. Close this page or start again from the application.', 'bad');
});
$('#contrast-toggle').addEventListener('click', (ev) => {
  const on = document.documentElement.classList.toggle('high-contrast');
  ev.currentTarget.setAttribute('aria-pressed', String(on));
});
