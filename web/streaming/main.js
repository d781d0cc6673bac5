// Live recognition over WebRTC (docs/streaming.md), in plain words and in the page's language. Two ways
// in: a link from the tenant's backend (`#session=…&token=…`: one session, no API secret in the page),
// or the API key for one's own tools. Results are shown by result-view.js.
import '/app/assets/page.js';
import { $, showError } from '/app/assets/dom.js';
import { t } from '/app/assets/i18n.js';
import { explain } from '/app/assets/messages.js';
import { loadCredentials, saveCredentials } from '/app/assets/session.js';
import { startStreaming } from '/app/streaming/stream.js';
import { resetView, showMessage } from '/app/streaming/result-view.js';

const LINK = 'wajah.streamLink';
const form = $('#stream-form');
const state = $('#state');
const errorBox = $('#stream-error');
const stopButton = $('#stop');
const video = $('#video');
let running = null;

// A link carries the session and its page token in the fragment (never sent to a server). It moves to
// this tab's sessionStorage and leaves the address bar, so it is not kept in history or shared by copying
// the address; a language switch (a reload) finds it there.
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get('session') && fragment.get('token')) {
  sessionStorage.setItem(LINK, JSON.stringify({ sessionId: fragment.get('session'), pageToken: fragment.get('token') }));
  history.replaceState(null, '', location.pathname + location.search);
}
const link = (() => {
  try {
    const v = JSON.parse(sessionStorage.getItem(LINK) ?? 'null');
    return v?.sessionId && v?.pageToken ? v : null;
  } catch {
    return null;
  }
})();
$('#link-note').hidden = !link;
$('#key-fields').hidden = Boolean(link);
document.body.dataset.access = link ? 'link' : 'key';

const creds = loadCredentials();
if (creds && !link) {
  form.api_key.value = creds.apiKey;
  form.secret_key.value = creds.secretKey;
}

const say = (text) => {
  state.textContent = text;
};
resetView({ liveness: false });

function cameraOn(stream) {
  video.srcObject = stream;
  $('#camera-off').hidden = true;
  $('#preview').classList.add('live');
}
function cameraOff() {
  video.srcObject = null;
  $('#camera-off').hidden = false;
  $('#preview').classList.remove('live');
}

/** This page's link can start no stream any more: Start is not offered, nor asked for. */
function endLink() {
  sessionStorage.removeItem(LINK);
  $('#start').disabled = true;
  $('#camera-off').textContent = t('Camera is off.');
}

async function stop(text = t('Stopped.')) {
  const r = running;
  running = null;
  stopButton.disabled = true;
  cameraOff();
  // A link's session is spent once stopped (DELETE): say how to go on instead of offering a dead Start.
  if (link) {
    endLink();
    say(`${text} ${t('The session of this link has ended: ask for a new link to start again.')}`);
  } else {
    $('#start').disabled = false;
    say(text);
  }
  await r?.stop();
}

function onMessage(message) {
  showMessage(message);
  // The server ends an expired session: say so in words and stop this side too.
  if (message.type === 'error' && message.code === 'SESSION_EXPIRED') {
    const x = explain('SESSION_EXPIRED');
    showError(errorBox, { code: 'SESSION_EXPIRED' }, { showCode: false });
    void stop(`${x.text}`);
  }
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  if (running) return;
  showError(errorBox, null);
  let opts;
  if (link) opts = { sessionId: link.sessionId, pageToken: link.pageToken };
  else {
    if (!form.api_key.value || !form.secret_key.value) {
      showError(errorBox, { code: 'CREDENTIALS_NEEDED' }, { showCode: false });
      return;
    }
    saveCredentials(form.api_key.value, form.secret_key.value);
    const options = { require_liveness: form.require_liveness.checked, ...(form.user_id.value ? { user_id: form.user_id.value.trim() } : {}) };
    opts = { apiKey: form.api_key.value, secretKey: form.secret_key.value, mode: form.mode.value, options };
  }
  $('#start').disabled = true;
  resetView({ liveness: link ? false : form.require_liveness.checked });
  say(t('Connecting…'));
  try {
    running = await startStreaming({ ...opts, onCamera: cameraOn }, onMessage);
    if (link) resetView({ liveness: running.session.require_liveness });
    say(t('Streaming. Look at the camera.'));
    stopButton.disabled = false;
  } catch (err) {
    running = null;
    cameraOff();
    showError(errorBox, err, { showCode: false });
    if (link && err?.code === 'SESSION_EXPIRED') {
      // The link's window to connect has passed: it can never start a stream again, so Start is not
      // offered and what to do is a new link (not "start again").
      endLink();
      const help = errorBox.querySelector('.help');
      if (help) help.textContent = t('Ask for a new link.');
      say(t('This link has expired: ask for a new link.'));
    } else {
      $('#start').disabled = false;
      say(explain(err).text);
    }
  }
});

stopButton.addEventListener('click', () => void stop());
