// Camera page: enrollment or authentication through the HTTP session API, with live guidance
// (text, aria-live, optional voice), quality, progress and the final result.
import { api, clientAuth } from '/app/assets/api.js';
import { $, $$, el, busy, formValues, showError, pct } from '/app/assets/dom.js';
import { bindContrastToggle, flag } from '/app/assets/prefs.js';
import { loadCredentials, saveCredentials } from '/app/assets/session.js';
import { renderDecision } from '/app/assets/decision.js';
import { createFrameLoop } from './frame-loop.js';
import { createVoice } from './voice.js';

/** ~6.7 frames/s: enough for blink and head-turn challenges, light on the server. */
const FRAME_INTERVAL_MS = 150;

/** Frame errors that are guidance, not the end of the session: keep sending frames. */
const FRAME_HINTS = {
  NO_FACE_DETECTED: 'No face found. Look at the camera and keep your face inside the oval.',
  MULTIPLE_FACES: 'More than one face is visible. Only one person should be in view.',
  FACE_MISMATCH: 'A different face was seen. Only the person being checked should be in view.',
  POOR_IMAGE_QUALITY: 'The image is not clear enough. Improve the lighting and hold still.',
  INVALID_IMAGE: 'The camera image could not be read. Trying again…',
  SERVICE_BUSY: 'The server is busy. Trying again…',
};

/** Readable labels of the guide's suggestion codes. */
const SUGGESTIONS = {
  turn_left: 'Turn left',
  turn_right: 'Turn right',
  look_up: 'Look up',
  look_down: 'Look down',
  look_straight: 'Look straight ahead',
  move_closer: 'Move closer',
  move_back: 'Move back',
  improve_lighting: 'More light',
  hold_still: 'Hold still',
  center_face: 'Center your face',
  blink: 'Blink',
  head_movement: 'Turn your head',
  nod: 'Nod',
  smile: 'Smile',
};

const CHALLENGES = { blink: 'Blink', head_movement: 'Turn your head', turn_left: 'Turn left', turn_right: 'Turn right', nod: 'Nod', smile: 'Smile' };

bindContrastToggle($('#contrast-toggle'));

// ---- voice guidance toggle (persisted) ----
const voicePref = flag('voiceGuidance', false);
const voice = createVoice({ enabled: () => voicePref.get() });
const voiceButton = $('#voice-toggle');
voiceButton.setAttribute('aria-pressed', String(voicePref.get()));
if (!voice.supported) {
  voiceButton.disabled = true;
  voiceButton.title = 'This browser has no speech synthesis';
}
voiceButton.addEventListener('click', () => {
  const on = !voicePref.get();
  voicePref.set(on);
  voiceButton.setAttribute('aria-pressed', String(on));
  if (on) voice.say('Voice guidance on.', { urgent: true });
  else voice.stop();
});

// ---- credentials ----
const credsForm = $('#credentials-form');
function renderWho() {
  const c = loadCredentials();
  credsForm.hidden = Boolean(c);
  $('#who').textContent = c ? `Key ${c.apiKey.slice(0, 12)}…` : 'Not signed in';
}
credsForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const { api_key, secret_key } = formValues(credsForm);
  void busy(credsForm.querySelector('button'), credsForm.querySelector('.alert'), async () => {
    await api('/clients/users/', { auth: clientAuth({ apiKey: api_key, secretKey: secret_key }), query: { page_size: 1 } });
    saveCredentials(api_key, secret_key);
    credsForm.reset();
    renderWho();
  });
});
renderWho();
const auth = () => {
  const c = loadCredentials();
  return c ? clientAuth(c) : '';
};

// ---- settings ----
const settings = $('#settings');
const params = new URLSearchParams(location.search);
if (params.get('mode') && settings.querySelector(`input[name=mode][value="${params.get('mode')}"]`)) {
  settings.querySelector(`input[name=mode][value="${params.get('mode')}"]`).checked = true;
}
if (params.get('user_id')) $('#user-id').value = params.get('user_id');

const mode = () => settings.querySelector('input[name=mode]:checked').value;
const isEnrollment = () => mode() === 'enrollment';
function renderMode() {
  const group = isEnrollment() ? 'enrollment' : 'authentication';
  for (const n of $$('[data-for]')) n.hidden = n.dataset.for !== group;
  const needsUser = mode() !== 'identification';
  $('#user-field').hidden = !needsUser;
  $('#user-id').required = needsUser;
}
for (const r of $$('input[name=mode]')) r.addEventListener('change', renderMode);
renderMode();

// ---- live feedback ----
const preview = $('#preview');
const guidanceBox = $('#guidance');
const errorBox = $('#camera-error');
const resultBox = $('#result');

/** Writes guidance to the aria-live region (only when it changes, so screen readers are not flooded) and speaks it. */
function guide(message, { urgent = false, tone } = {}) {
  if (!message) return;
  if (guidanceBox.textContent !== message) guidanceBox.textContent = message;
  if (tone) preview.classList.toggle('state-good', tone === 'good'), preview.classList.toggle('state-bad', tone === 'bad');
  voice.say(message, { urgent });
}

function showSuggestions(list) {
  $('#suggestions').replaceChildren(...(list ?? []).map((s) => el('span', { class: 'chip', text: SUGGESTIONS[s] ?? s.replace(/_/g, ' ') })));
}

function showQuality(q) {
  const meter = $('#quality');
  meter.value = typeof q === 'number' ? q : 0;
  $('#quality-text').textContent = typeof q === 'number' ? q.toFixed(2) : '—';
}

function showEnrollProgress(p) {
  if (!p) return;
  const bar = $('#enroll-progress');
  bar.max = Math.max(1, p.required);
  bar.value = Math.min(p.current, p.required);
  $('#enroll-progress-text').textContent = `${p.current} / ${p.required}`;
  const got = new Set(p.angles_captured ?? []);
  for (const s of $$('#angles span')) s.classList.toggle('done', got.has(s.dataset.angle));
}

function showLiveness(l, attemptsRemaining) {
  $('#challenge').textContent = l ? (l.current_challenge ? CHALLENGES[l.current_challenge] ?? l.current_challenge : 'done') : '—';
  $('#challenges-remaining').textContent = l ? String(Array.isArray(l.challenges_remaining) ? l.challenges_remaining.length : l.challenges_remaining ?? '—') : '—';
  if (attemptsRemaining !== undefined) $('#attempts-remaining').textContent = String(attemptsRemaining);
}

// ---- camera ----
const video = $('#video');
let stream = null;

async function openCamera() {
  if (stream) return;
  if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error('This browser cannot use a camera here (a secure context, https or localhost, is needed).'), { code: 'CAMERA_UNAVAILABLE' });
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' }, audio: false });
  } catch (e) {
    throw Object.assign(new Error(`The camera could not be opened: ${e.message || e.name}`), { code: 'CAMERA_UNAVAILABLE' });
  }
  video.srcObject = stream;
  await video.play().catch(() => {});
  $('#camera-off').hidden = true;
  preview.classList.add('live');
}

function closeCamera() {
  for (const t of stream?.getTracks() ?? []) t.stop();
  stream = null;
  video.srcObject = null;
  $('#camera-off').hidden = false;
  preview.classList.remove('live');
}

// ---- one run: a session, its frames, its result ----
let loop = null;
let token = null;

function frameForm(blob) {
  const fd = new FormData();
  fd.append('frame', blob, 'frame.jpg');
  fd.append('frame_metadata', JSON.stringify({ source: 'web-camera', width: video.videoWidth, height: video.videoHeight }));
  return fd;
}

/** Sends one frame; returns false when the session is over. */
async function sendFrame(blob) {
  const path = isEnrollment() ? '/auth/enrollment/process-frame/' : '/auth/authentication/process-frame/';
  const run = loop;
  showFramesSent(run?.sent ?? 0); // counted when sent, not when answered
  let r;
  try {
    r = await api(path, { auth: auth(), form: frameForm(blob), headers: { 'x-session-token': token } });
  } catch (e) {
    if (!run?.running) return false; // stopped while this frame was in flight: its answer is stale
    if (FRAME_HINTS[e.code]) {
      guide(FRAME_HINTS[e.code], { tone: 'bad' });
      showSuggestions([]);
      if (e.code === 'NO_FACE_DETECTED') showQuality(0);
      return true;
    }
    finish();
    showError(errorBox, e);
    guide(`Stopped: ${e.message}`, { urgent: true, tone: 'bad' });
    return false;
  }
  if (!run?.running) return false; // stopped while this frame was in flight: its answer is stale
  return isEnrollment() ? onEnrollmentFrame(r) : onAuthenticationFrame(r);
}

function showFramesSent(n) {
  $('#frames-sent').textContent = `${n} frame${n === 1 ? '' : 's'} sent`;
}

async function onEnrollmentFrame(r) {
  showQuality(r.quality_score);
  showEnrollProgress(r.progress);
  showSuggestions(r.feedback?.suggestions);
  guide(r.feedback?.message ?? (r.face_detected ? 'Hold still.' : FRAME_HINTS.NO_FACE_DETECTED), { tone: r.frame_accepted ? 'good' : 'bad' });
  if (r.status !== 'ready') return true;
  // Enough good frames (and every angle, when asked): close the session into an enrollment.
  guide('Saving your enrollment…', { urgent: true, tone: 'good' });
  try {
    const done = await api('/auth/enrollment/complete/', { method: 'POST', auth: auth(), headers: { 'x-session-token': token } });
    showEnrollmentResult(done);
    guide('Enrollment complete. Thank you.', { urgent: true, tone: 'good' });
  } catch (e) {
    showError(errorBox, e);
    guide(`Enrollment failed: ${e.message}`, { urgent: true, tone: 'bad' });
  }
  finish();
  return false;
}

function showEnrollmentResult(d) {
  const m = d.quality_metrics ?? {};
  resultBox.replaceChildren(
    el(
      'div',
      { class: 'card result ok', dataset: { status: d.status } },
      el('div', { class: 'headline', text: 'Enrollment complete' }),
      el(
        'dl',
        { class: 'kv' },
        el('dt', { text: 'Enrollment id' }),
        el('dd', { class: 'mono', id: 'enrollment-id', text: d.enrollment_id }),
        el('dt', { text: 'User' }),
        el('dd', { text: d.user_id }),
        el('dt', { text: 'Overall quality' }),
        el('dd', { text: typeof m.overall_quality === 'number' ? m.overall_quality.toFixed(2) : '—' }),
        el('dt', { text: 'Frames kept' }),
        el('dd', { text: String(m.face_count ?? '—') }),
        el('dt', { text: 'Angles' }),
        el('dd', { text: (m.angles_captured ?? []).join(', ') || '—' }),
      ),
    ),
  );
}

function onAuthenticationFrame(r) {
  if (typeof r.quality_score === 'number' || typeof r.result?.quality_score === 'number') showQuality(r.quality_score ?? r.result.quality_score);
  showLiveness(r.liveness ?? null, r.attempts_remaining);
  if (r.status === 'processing') {
    showSuggestions(r.feedback?.suggestions);
    guide(r.feedback?.message ?? 'Hold still.', { tone: 'good' });
    return true;
  }
  renderDecision(resultBox, r);
  const res = r.result ?? {};
  if (r.status === 'completed') {
    const who = Array.isArray(res.matches) ? res.matches.map((m) => m.name || m.user_id).join(', ') : res.user_name || res.user_id;
    guide(`Authenticated${who ? `: ${who}` : ''}. Confidence ${pct(res.confidence)}.`, { urgent: true, tone: 'good' });
    finish();
    return false;
  }
  if ((r.attempts_remaining ?? 0) > 0) {
    guide(`Not recognised (${res.failure_reason ?? 'no match'}). Trying again — look straight at the camera.`, { tone: 'bad' });
    return true;
  }
  guide(`Authentication failed: ${res.failure_reason ?? 'not recognised'}.`, { urgent: true, tone: 'bad' });
  finish();
  return false;
}

function finish() {
  loop?.stop();
  preview.classList.remove('running');
  $('#start').disabled = false;
  $('#stop').disabled = true;
  closeCamera();
}

function resetView() {
  showError(errorBox, null);
  resultBox.replaceChildren();
  showSuggestions([]);
  showQuality(null);
  showEnrollProgress({ current: 0, required: 1, angles_captured: [] });
  showLiveness(null, undefined);
  $('#attempts-remaining').textContent = '—';
  preview.classList.remove('state-good', 'state-bad');
}

settings.addEventListener('submit', (e) => {
  e.preventDefault();
  if (!loadCredentials()) {
    showError(errorBox, { code: 'INVALID_CREDENTIALS', message: 'Enter an API key and secret first (above), or sign in on the console.' });
    credsForm.querySelector('input').focus();
    return;
  }
  resetView();
  const v = formValues(settings);
  void busy($('#start'), errorBox, async () => {
    guide('Starting the camera…');
    await openCamera();
    let session;
    if (isEnrollment()) {
      session = await api('/auth/enrollment/create/', {
        auth: auth(),
        json: { user_id: v.user_id, session_type: 'webcam', require_multiple_angles: $('#multi-angle').checked, guidance_enabled: true },
      });
      showEnrollProgress({ current: 0, required: session.requirements.required_frames, angles_captured: [] });
    } else {
      session = await api('/auth/authentication/create/', {
        auth: auth(),
        json: { mode: mode(), ...(mode() === 'verification' ? { user_id: v.user_id } : {}), session_type: 'webcam', require_liveness: $('#require-liveness').checked },
      });
      showLiveness(session.liveness ?? null, undefined);
    }
    token = session.session_token;
    guide(session.liveness?.current_challenge ? `Look at the camera. ${CHALLENGES[session.liveness.current_challenge] ?? ''}.` : 'Look at the camera and keep your face inside the oval.', { urgent: true });
    loop = createFrameLoop({ video, intervalMs: FRAME_INTERVAL_MS, onFrame: sendFrame });
    preview.classList.add('running');
    $('#stop').disabled = false;
    loop.start();
  }).then(() => {
    // busy() re-enables Start; keep it disabled while frames are flowing.
    $('#start').disabled = Boolean(loop?.running);
    if (!loop?.running) closeCamera();
  });
});

$('#stop').addEventListener('click', () => {
  finish();
  guide('Stopped.', { urgent: true });
});

// Keyboard: Escape stops a running capture from anywhere on the page.
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && loop?.running) $('#stop').click();
});
