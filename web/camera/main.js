// Camera page: enrollment or authentication through the HTTP session API, with live coaching (one
// stable instruction, a countdown per liveness challenge, a time-out when no face is seen), written
// to an aria-live region and optionally spoken, in the page's language. Every failure is said in plain
// words from the message table (web/assets/messages.js) with a next step; no raw code is shown or spoken.
import '/app/assets/page.js';
import { api, clientAuth } from '/app/assets/api.js';
import { $, $$, el, busy, formValues, showError } from '/app/assets/dom.js';
import { flag } from '/app/assets/prefs.js';
import { t, tn, speechLang, lang } from '/app/assets/i18n.js';
import { explain, line, instruction, NEXT } from '/app/assets/messages.js';
import { loadCredentials, saveCredentials } from '/app/assets/session.js';
import { failureCode, renderDecision } from '/app/assets/decision.js';
import { createFrameLoop } from './frame-loop.js';
import { createVoice } from './voice.js';
import { createCoach, createNoFaceWatch } from './coach.js';
import { createFaceGuide } from './face-guide.js';
import { createProgressView } from './progress-view.js';

/** ~6.7 frames/s: enough for blink and head-turn challenges, light on the server. */
const FRAME_INTERVAL_MS = 150;
/** Frame errors that are guidance, not the end of the session: keep sending frames. */
const FRAME_HINTS = new Set(['NO_FACE_DETECTED', 'MULTIPLE_FACES', 'FACE_MISMATCH', 'POOR_IMAGE_QUALITY', 'INVALID_IMAGE', 'SERVICE_BUSY', 'FRAME_RATE_EXCEEDED']);
/** Next steps this page can act on (others are explained without a button). */
const NEXTS = ['retry', 'restart', 'wait', 'camera', 'pin', 'signin', 'enroll'];
/**
 * A session request (create, frame, complete) without an answer by then ends the run with
 * NETWORK_TIMEOUT: a stalled connection left the page showing its last instruction for ever.
 */
const REQUEST_TIMEOUT_MS = 15000;

// ---- voice guidance toggle (persisted) ----
const voicePref = flag('voiceGuidance', false);
const voice = createVoice({ enabled: () => voicePref.get(), lang: speechLang });
const voiceButton = $('#voice-toggle');
voiceButton.setAttribute('aria-pressed', String(voicePref.get()));
if (!voice.supported) {
  voiceButton.disabled = true;
  voiceButton.title = t('This browser has no speech synthesis');
}
voiceButton.addEventListener('click', () => {
  const on = !voicePref.get();
  voicePref.set(on);
  voiceButton.setAttribute('aria-pressed', String(on));
  if (on) voice.say(line('guide.voice_on'), { urgent: true });
  else voice.stop();
});

// ---- credentials ----
const credsForm = $('#credentials-form');
function renderWho() {
  const c = loadCredentials();
  credsForm.hidden = Boolean(c);
  $('#who').textContent = c ? t('Key {key}…', { key: c.apiKey.slice(0, 12) }) : t('Not signed in');
}
credsForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const { api_key, secret_key } = formValues(credsForm);
  const box = credsForm.querySelector('.alert');
  void busy(credsForm.querySelector('button'), null, async () => {
    showError(box, null);
    await api('/clients/users/', { auth: clientAuth({ apiKey: api_key, secretKey: secret_key }), query: { page_size: 1 } });
    saveCredentials(api_key, secret_key);
    credsForm.reset();
    renderWho();
  }).catch((err) => showError(box, err, { showCode: false }));
});
renderWho();
const auth = () => {
  const c = loadCredentials();
  return c ? clientAuth(c) : '';
};

// ---- settings ----
const settings = $('#settings');
const params = new URLSearchParams(location.search);
// Looked up among the radios, never spliced into a selector: a link's ?mode=x"] made the selector invalid
// and the page's script stopped before any button worked.
const modeRadio = (m) => [...settings.querySelectorAll('input[name=mode]')].find((r) => r.value === m);
if (params.get('mode') && modeRadio(params.get('mode'))) modeRadio(params.get('mode')).checked = true;
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
/** The oval around the face and the progress/time ring (web/camera/face-guide.js). */
const faceGuide = createFaceGuide(preview);

/** Writes the instruction (aria-live, only when it changes) and speaks it. */
const coach = createCoach({
  show(key, text, urgent) {
    guidanceBox.dataset.key = key;
    if (guidanceBox.textContent !== text) guidanceBox.textContent = text;
    voice.say(text, { urgent });
  },
});
const guide = (key, text, { urgent = false, soft = false, tone } = {}) => {
  if (tone) setTone(tone);
  coach.propose(key, text, { urgent, soft });
};
/** The oval turns green only for a good frame, orange for a problem, white otherwise. */
function setTone(tone) {
  faceGuide.tone(tone);
}

const noFace = createNoFaceWatch();
/** Progress panel, chips, quality meter and the guide's ring (web/camera/progress-view.js). */
const view = createProgressView({ faceGuide, onChallenge: (c) => guide(`challenge.${c}`, instruction(c), { urgent: true }) });
const { showSuggestions, showQuality, showEnrollProgress, showLiveness, showAttempts, countdown } = view;

// ---- camera ----
const video = $('#video');
let stream = null;

async function openCamera() {
  if (stream) return;
  if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error('no camera API'), { code: 'CAMERA_UNAVAILABLE' });
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' }, audio: false });
  } catch (e) {
    const denied = e?.name === 'NotAllowedError' || e?.name === 'SecurityError';
    throw Object.assign(new Error(e?.message ?? String(e)), { code: denied ? 'CAMERA_DENIED' : 'CAMERA_UNAVAILABLE' });
  }
  // A camera unplugged (or taken by the system) mid-run ends its track: stop with CAMERA_LOST instead of
  // sending a frozen picture, or nothing, for ever.
  const opened = stream;
  for (const track of opened.getVideoTracks()) {
    track.addEventListener('ended', () => {
      if (stream === opened) fail({ code: 'CAMERA_LOST' });
    });
  }
  video.srcObject = stream;
  await video.play().catch(() => {});
  $('#camera-off').hidden = true;
  preview.classList.add('live');
}

function closeCamera() {
  for (const tr of stream?.getTracks() ?? []) tr.stop();
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

/** Ends the run with a plain explanation, a next step and the same words spoken. */
function fail(err) {
  finish();
  const x = explain(err);
  showError(errorBox, err, { showCode: false, onNext, nexts: NEXTS });
  // Without a usable camera, verification still has a way forward: the PIN or password.
  if (x.code.startsWith('CAMERA_') && mode() === 'verification') {
    const pin = el('button', { type: 'button', class: 'small secondary next-step', dataset: { next: 'pin' }, onclick: () => onNext('pin') }, NEXT.pin[lang]);
    const row = errorBox.querySelector('.next-step')?.parentElement;
    if (row) row.append(' ', pin);
    else errorBox.append(el('div', {}, pin));
  }
  reveal(errorBox);
  // Camera problems are also written where the picture would be.
  $('#camera-off').textContent = x.code.startsWith('CAMERA_') ? `${x.text} ${x.help}` : t('Camera is off. Choose a mode and press Start.');
  guide(`error.${x.code}`, `${x.text} ${x.help}`, { urgent: true, tone: 'bad' });
}

/** Frame answers received in this run; the guide says which one it shows (data-answer). */
let answers = 0;

/** Sends one frame and shows its answer; returns false when the session is over. */
async function sendFrame(blob) {
  try {
    return await sendOneFrame(blob);
  } finally {
    faceGuide.answered(answers);
  }
}

async function sendOneFrame(blob) {
  const path = isEnrollment() ? '/auth/enrollment/process-frame/' : '/auth/authentication/process-frame/';
  const run = loop;
  showFramesSent(run?.sent ?? 0); // counted when sent, not when answered
  let r;
  try {
    r = await api(path, { auth: auth(), form: frameForm(blob), headers: { 'x-session-token': token }, timeoutMs: REQUEST_TIMEOUT_MS });
  } catch (e) {
    if (!run?.running) return false; // stopped while this frame was in flight: its answer is stale
    answers += 1;
    faceGuide.face(null);
    if (FRAME_HINTS.has(e.code)) {
      if (e.code === 'NO_FACE_DETECTED') return onNoFace();
      noFace.seen(true);
      guide(`hint.${e.code}`, `${explain(e.code).text} ${explain(e.code).help}`, { tone: 'bad' });
      showSuggestions(e.details?.suggestions);
      return true;
    }
    fail(e);
    return false;
  }
  if (!run?.running) return false;
  answers += 1;
  faceGuide.face(r.face ?? null);
  if (r.face_detected === false && r.status === 'processing') {
    if (!isEnrollment()) showLiveness(r.liveness ?? null, r.timestamp);
    return onNoFace();
  }
  noFace.seen(true);
  return isEnrollment() ? onEnrollmentFrame(r) : onAuthenticationFrame(r);
}

/** No face in this frame: say so (steadily), and stop with help once none was seen for a while. */
function onNoFace() {
  showQuality(0);
  showSuggestions([]);
  if (noFace.seen(false)) {
    fail({ code: 'NO_FACE_TIMEOUT' });
    return false;
  }
  guide('no_face', line('guide.no_face'), { tone: 'bad' });
  return true;
}

function showFramesSent(n) {
  $('#frames-sent').textContent = tn(n, '{n} frame sent', '{n} frames sent');
}

/** The instruction for a frame: the first suggestion, else "hold still". */
function frameInstruction(suggestions, good) {
  const s = (suggestions ?? [])[0];
  if (s) guide(`do.${s}`, instruction(s), { tone: good ? 'good' : 'bad' });
  else guide('hold_still', line('guide.hold_still'), { tone: good ? 'good' : 'bad' });
}

async function onEnrollmentFrame(r) {
  showQuality(r.quality_score);
  showEnrollProgress(r.progress);
  showSuggestions(r.feedback?.suggestions);
  if (r.frame_accepted && r.angle && $('#multi-angle').checked) {
    // Say which angle this frame gave, in the person's own left/right (the server's bucket, as is).
    const text = line(`captured.${r.angle}`);
    const note = $('#angle-note');
    note.dataset.angle = r.angle;
    note.textContent = text;
    guide(`captured.${r.angle}`, text, { urgent: true, tone: 'good' });
  }
  frameInstruction(r.feedback?.suggestions, Boolean(r.frame_accepted));
  if (r.status !== 'ready') return true;
  // Enough good frames (and every angle, when asked): close the session into an enrollment.
  guide('saving', line('outcome.saving'), { urgent: true, tone: 'good' });
  try {
    const done = await api('/auth/enrollment/complete/', { method: 'POST', auth: auth(), headers: { 'x-session-token': token }, timeoutMs: REQUEST_TIMEOUT_MS });
    showEnrollmentResult(done);
    finish();
    guide('enrolled', line('outcome.enrolled'), { urgent: true, tone: 'good' });
  } catch (e) {
    fail(e);
  }
  return false;
}

function showEnrollmentResult(d) {
  const m = d.quality_metrics ?? {};
  const kv = [
    [t('Enrollment id'), el('dd', { class: 'mono', id: 'enrollment-id', text: d.enrollment_id })],
    [t('User'), el('dd', { text: d.user_id })],
    [t('Overall quality'), el('dd', { text: typeof m.overall_quality === 'number' ? m.overall_quality.toFixed(2) : '—' })],
    [t('Frames kept'), el('dd', { text: String(m.face_count ?? '—') })],
    [t('Angles'), el('dd', { text: (m.angles_captured ?? []).map((a) => t(a)).join(', ') || '—' })],
  ];
  resultBox.replaceChildren(
    el('div', { class: 'card result ok', dataset: { status: d.status } }, el('div', { class: 'headline', text: t('Enrollment complete') }), el('dl', { class: 'kv' }, ...kv.flatMap(([k, v]) => [el('dt', { text: k }), v]))),
  );
  reveal(resultBox);
}

function onAuthenticationFrame(r) {
  const q = r.quality_score ?? r.result?.quality_score;
  if (typeof q === 'number') showQuality(q);
  showLiveness(r.liveness ?? null, r.timestamp);
  // The decision carries the challenges met instead of the progress: the ring shows them to the end.
  if (!r.liveness && r.liveness_result) view.showChallengesMet(r.liveness_result.challenges_completed.length);
  if (r.attempts_remaining !== undefined) showAttempts(r.attempts_remaining);
  if (r.status === 'processing') {
    const suggestions = r.feedback?.suggestions ?? [];
    const c = r.liveness?.current_challenge;
    // During a challenge the challenge is the instruction; a problem replaces it only if it persists.
    const other = suggestions.find((s) => s !== c);
    // Green only for a good frame that meets the challenge's conditions (nothing else to fix).
    if (c && !other) guide(`challenge.${c}`, instruction(c), { tone: q >= 0.45 ? 'good' : 'bad' });
    else frameInstruction(other ? [other] : [], q >= 0.45 && !other);
    showSuggestions(c ? [] : suggestions);
    return true;
  }
  const res = r.result ?? {};
  if (r.status === 'completed') {
    countdown.stop();
    renderDecision(resultBox, r, { technical: false });
    reveal(resultBox);
    const who = Array.isArray(res.matches) ? res.matches.map((m) => m.name || m.user_id).join(', ') : res.user_name || res.user_id;
    finish();
    guide('authenticated', Array.isArray(res.matches) ? line('outcome.identified', { name: who }) : line('outcome.authenticated', { name: who }), { urgent: true, tone: 'good' });
    return false;
  }
  if ((r.attempts_remaining ?? 0) > 0) {
    guide('retrying', line('outcome.retrying'), { tone: 'bad' });
    return true;
  }
  countdown.stop();
  const box = renderDecision(resultBox, r, { technical: false });
  const x = explain(failureCode(r) ?? 'FAILED');
  // The next steps: try again, and the PIN when a user was named (verification).
  box.append(
    el(
      'div',
      { class: 'row next-steps' },
      el('button', { type: 'button', class: 'next-step', dataset: { next: 'retry' }, onclick: () => onNext('retry') }, explain('LIVENESS_FAILED').nextLabel),
      mode() === 'verification' ? el('button', { type: 'button', class: 'secondary next-step', dataset: { next: 'pin' }, onclick: () => onNext('pin') }, explain('LOW_CONFIDENCE').nextLabel) : null,
    ),
  );
  finish();
  reveal(resultBox);
  guide(`failed.${x.code}`, `${x.text} ${x.help}`, { urgent: true, tone: 'bad' });
  return false;
}

function finish() {
  loop?.stop();
  countdown.stop();
  preview.classList.remove('running');
  $('#start').disabled = false;
  $('#stop').disabled = true;
  lockSettings(false);
  closeCamera();
}

/**
 * The mode, user and options cannot change during a run: the frames of an enrollment session sent to
 * the authentication endpoint (mode switched mid-run) ended it with "This session has ended".
 */
function lockSettings(on) {
  for (const input of settings.querySelectorAll('input')) input.disabled = on;
}

/**
 * Scrolls `node` into view when it is not fully on screen: on a phone or at 200 % zoom the Start button,
 * the result and the error sit below the fold, away from the preview and the guidance.
 */
function reveal(node) {
  const r = node.getBoundingClientRect();
  if (r.height && (r.top < 0 || r.bottom > innerHeight)) node.scrollIntoView({ block: r.height > innerHeight ? 'start' : 'nearest' });
}

/** What a next-step button does on this page. */
function onNext(next) {
  if (next === 'pin') return showPinForm();
  if (next === 'signin') {
    credsForm.hidden = false;
    return credsForm.querySelector('input').focus();
  }
  if (next === 'enroll') {
    modeRadio('enrollment').checked = true;
    renderMode();
  }
  settings.requestSubmit();
}

function resetView() {
  showError(errorBox, null);
  resultBox.replaceChildren();
  $('#pin-form').hidden = true;
  showSuggestions([]);
  showQuality(null);
  showEnrollProgress({ current: 0, required: 1, angles_captured: [] });
  $('#angle-note').textContent = '';
  delete $('#angle-note').dataset.angle;
  answers = 0;
  faceGuide.reset();
  view.reset();
  showLiveness(null);
  showAttempts(null);
  setTone(null);
  coach.reset();
  noFace.reset();
}

settings.addEventListener('submit', (e) => {
  e.preventDefault();
  if (!loadCredentials()) {
    showError(errorBox, { code: 'CREDENTIALS_NEEDED' }, { showCode: false });
    credsForm.querySelector('input').focus();
    return;
  }
  resetView();
  const v = formValues(settings);
  lockSettings(true);
  // The person must see themselves and the instruction: the preview and the guidance line, not the form.
  const shown = preview.getBoundingClientRect();
  if (shown.top < 0 || guidanceBox.getBoundingClientRect().bottom > innerHeight) preview.scrollIntoView({ block: 'start' });
  void busy($('#start'), null, async () => {
    guide('starting', line('guide.starting'), { urgent: true, soft: true });
    await openCamera();
    let session;
    if (isEnrollment()) {
      session = await api('/auth/enrollment/create/', {
        auth: auth(),
        timeoutMs: REQUEST_TIMEOUT_MS,
        json: { user_id: v.user_id, session_type: 'webcam', require_multiple_angles: $('#multi-angle').checked, guidance_enabled: true },
      });
      showEnrollProgress({ current: 0, required: session.requirements.required_frames, angles_captured: [] });
    } else {
      session = await api('/auth/authentication/create/', {
        auth: auth(),
        timeoutMs: REQUEST_TIMEOUT_MS,
        json: { mode: mode(), ...(mode() === 'verification' ? { user_id: v.user_id } : {}), session_type: 'webcam', require_liveness: $('#require-liveness').checked },
      });
      showAttempts(session.settings?.max_attempts);
    }
    if (!stream) throw Object.assign(new Error('camera lost'), { code: 'CAMERA_LOST' }); // unplugged while the session was created
    token = session.session_token;
    guide('look', line('guide.look'), { urgent: true, soft: true });
    if (session.liveness) showLiveness(session.liveness);
    loop = createFrameLoop({ video, intervalMs: FRAME_INTERVAL_MS, onFrame: sendFrame });
    preview.classList.add('running');
    $('#stop').disabled = false;
    loop.start();
  })
    .catch((err) => fail(err))
    .then(() => {
      // busy() re-enables Start; keep it disabled while frames are flowing.
      $('#start').disabled = Boolean(loop?.running);
      if (!loop?.running) {
        lockSettings(false);
        closeCamera();
      }
    });
});

$('#stop').addEventListener('click', () => {
  finish();
  guide('stopped', line('guide.stopped'), { urgent: true });
});

// Keyboard: Escape stops a running capture from anywhere on the page.
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && loop?.running) $('#stop').click();
});

// ---- PIN or password fallback (verification) ----
/**
 * The form for the user's own kind of fallback credential: a PIN (digits, a number pad on phones) or a
 * password. The API checks the kind as well as the secret, so a password sent as a PIN is a wrong guess
 * that spends one of the user's attempts. The kind is looked up first; when it cannot be (the key may not
 * read fallbacks), a 4–12 digit entry is sent as a PIN and anything else as a password.
 */
function setPinKind(form, kind) {
  form.dataset.kind = kind;
  const password = kind === 'password';
  $('#pin-title').textContent = t(password ? 'Verify with a password' : 'Verify with a PIN');
  $('#pin-label').textContent = t(password ? 'Password' : kind === 'pin' ? 'PIN' : 'PIN or password');
  $('#pin-submit').textContent = t(password ? 'Verify with password' : 'Verify with PIN');
  form.pin.setAttribute('inputmode', kind === 'pin' ? 'numeric' : 'text');
}
async function showPinForm() {
  const form = $('#pin-form');
  const box = form.querySelector('.alert');
  showError(box, null);
  form.hidden = false;
  form.pin.focus();
  const user = $('#user-id').value.trim();
  try {
    const state = await api(`/clients/users/${encodeURIComponent(user)}/fallback/`, { auth: auth() });
    if (!state.is_set) showError(box, { code: 'FALLBACK_NOT_SET', message: '' }, { showCode: false });
    setPinKind(form, state.type === 'password' ? 'password' : state.is_set ? 'pin' : 'auto');
  } catch {
    setPinKind(form, 'auto');
  }
}
$('#pin-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  const box = form.querySelector('.alert');
  showError(box, null);
  const secret = form.pin.value;
  const kind = form.dataset.kind === 'auto' ? (/^[0-9]{4,12}$/.test(secret) ? 'pin' : 'password') : form.dataset.kind;
  void busy(form.querySelector('button'), null, async () => {
    const r = await api('/auth/authentication/fallback/', { auth: auth(), json: { user_id: $('#user-id').value.trim(), [kind]: secret } });
    form.reset();
    form.hidden = true;
    showError(errorBox, null);
    renderDecision(resultBox, r, { technical: false });
    guide('pin_ok', line(kind === 'password' ? 'outcome.password_ok' : 'outcome.pin_ok', { name: r.result.user_name }), { urgent: true, tone: 'good' });
  }).catch((err) => showError(box, err, { showCode: false }));
});

