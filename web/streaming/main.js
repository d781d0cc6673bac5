import { loadCredentials, saveCredentials } from '/app/assets/session.js';
import { startStreaming } from '/app/streaming/stream.js';

const form = document.getElementById('stream-form');
const state = document.getElementById('state');
const last = document.getElementById('last');
const stopButton = document.getElementById('stop');
let running = null;

const creds = loadCredentials();
if (creds) {
  form.api_key.value = creds.apiKey;
  form.secret_key.value = creds.secretKey;
}

function show(message) {
  if (message.type === 'recognition_result') {
    const r = message.result;
    const who = r.result?.matches?.[0]?.user_id ?? r.result?.user_id ?? null;
    state.textContent = `${r.status}${who ? `: ${who}` : ''}`;
    state.dataset.userId = who ?? '';
  } else if (message.type === 'error') {
    state.textContent = `${message.code}: ${message.message}`;
  }
  last.textContent = JSON.stringify(message, null, 2);
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  if (running) return;
  saveCredentials(form.api_key.value, form.secret_key.value);
  const options = { require_liveness: form.require_liveness.checked, ...(form.user_id.value ? { user_id: form.user_id.value } : {}) };
  state.textContent = 'Connecting…';
  try {
    running = await startStreaming({ apiKey: form.api_key.value, secretKey: form.secret_key.value, mode: form.mode.value, options }, show);
    state.textContent = 'Streaming';
    stopButton.disabled = false;
  } catch (err) {
    state.textContent = `${err.code ?? 'ERROR'}: ${err.message}`;
  }
});

stopButton.addEventListener('click', async () => {
  await running?.stop();
  running = null;
  stopButton.disabled = true;
  state.textContent = 'Stopped';
});
