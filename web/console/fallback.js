// A user's PIN/password fallback on the user card (docs/fallbacks.md): its state (set, type, failures,
// lock), set or replace it, unlock a locked one, remove it. The secret is sent once and never shown.
import { api } from '/app/assets/api.js';
import { t, tn } from '/app/assets/i18n.js';
import { $, busy, fmtDate, formValues, isolate, showNote } from '/app/assets/dom.js';

export function initFallback(ctx) {
  const box = $('#fallback');
  const form = $('#fallback-set');
  const alert = box.querySelector('.alert');
  const note = box.querySelector('.note');
  let user = null;

  const path = (suffix = '') => `/clients/users/${encodeURIComponent(user.id)}/fallback/${suffix}`;

  function render(f) {
    const line = $('#fallback-state');
    line.dataset.state = !f.is_set ? 'none' : f.locked ? 'locked' : 'set';
    const kind = f.type === 'password' ? t('A password') : t('A PIN');
    if (!f.is_set) line.textContent = t('No PIN or password is set. Set one so this user can still sign in when the face check fails.');
    else if (f.locked) line.textContent = t('{kind} is set but locked after too many wrong attempts, until {until}. Unlock it once the person has proven who they are.', { kind, until: fmtDate(f.locked_until) });
    else {
      const parts = [t('{kind} is set.', { kind })];
      if (f.failed_attempts) parts.push(tn(f.failed_attempts, '{n} wrong attempt in a row.', '{n} wrong attempts in a row.'));
      parts.push(f.last_used_at ? t('Last used {when}.', { when: fmtDate(f.last_used_at) }) : t('Not used yet.'));
      line.textContent = parts.join(' ');
    }
    $('#fallback-unlock').hidden = !f.is_set || !(f.locked || f.failed_attempts > 0);
    $('#fallback-remove').hidden = !f.is_set;
    form.querySelector('button').textContent = f.is_set ? t('Replace') : t('Set');
  }

  async function load(u) {
    user = u;
    form.reset();
    showNote(note, '');
    await busy(null, alert, async () => render(await api(path(), { auth: ctx.auth() })));
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = formValues(form);
    showNote(note, '');
    void busy(form.querySelector('button'), alert, async () => {
      const f = await api(path(), { method: 'PUT', auth: ctx.auth(), json: { type: v.type, secret: v.secret } });
      form.secret.value = '';
      render(f);
      showNote(note, f.type === 'password' ? t('Password saved. Tell the person in a safe way; it is not shown again.') : t('PIN saved. Tell the person in a safe way; it is not shown again.'));
    });
  });

  $('#fallback-unlock').addEventListener('click', (e) => {
    showNote(note, '');
    void busy(e.currentTarget, alert, async () => {
      render(await api(path('unlock/'), { method: 'POST', auth: ctx.auth() }));
      showNote(note, t('Unlocked: the wrong attempts are forgotten.'));
    });
  });

  $('#fallback-remove').addEventListener('click', (e) => {
    if (!confirm(t('Remove the PIN or password of {name}?', { name: isolate(user.name) }))) return;
    showNote(note, '');
    void busy(e.currentTarget, alert, async () => {
      await api(path(), { method: 'DELETE', auth: ctx.auth() });
      render(await api(path(), { auth: ctx.auth() }));
      showNote(note, t('Removed.'));
    });
  });

  return { load };
}
