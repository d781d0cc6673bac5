// Operator mode: edit a client (PATCH /api/admin/clients/{id}/): name, tier, limits (empty = the
// tier's default) and active. Disabling asks first: the client's keys stop working at once.
import { api } from '/app/assets/api.js';
import { t } from '/app/assets/i18n.js';
import { $, busy, formValues, isolate, showNote } from '/app/assets/dom.js';

/** The limits: a number, or an emptied field for "the tier's default" (null), sent only when it changes. */
function limits(client, v) {
  const out = {};
  for (const k of ['max_users', 'calls_per_hour']) {
    if (v[k] !== '') out[k] = Number(v[k]);
    else if (client[k] !== null) out[k] = null;
  }
  return out;
}

/** @param {(client: object) => Promise<void>} onSaved called with the saved client */
export function initClientEdit(ctx, onSaved) {
  const form = $('#client-edit');
  let client = null;

  function load(c) {
    client = c;
    form.name.value = c.name;
    form.tier.value = c.tier;
    form.max_users.value = c.max_users ?? '';
    form.calls_per_hour.value = c.calls_per_hour ?? '';
    form.is_active.checked = c.is_active;
    form.dataset.active = String(c.is_active);
    for (const box of form.querySelectorAll('.alert, .note')) box.hidden = true;
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = formValues(form);
    const active = form.is_active.checked;
    if (client.is_active && !active && !confirm(t('Disable {name}? Its API keys and SSO applications stop working at once.', { name: isolate(client.name) }))) return;
    showNote(form.querySelector('.note'), '');
    void busy(form.querySelector('button'), form.querySelector('.alert'), async () => {
      const body = { name: v.name, tier: v.tier, ...limits(client, v), is_active: active };
      const c = await api(`/admin/clients/${encodeURIComponent(client.client_id)}/`, { method: 'PATCH', auth: ctx.adminAuth(), json: body });
      load(c);
      showNote(form.querySelector('.note'), c.is_active ? t('Saved.') : t('Saved. The client is disabled: its keys no longer work.'));
      await onSaved(c);
    });
  });

  return { load };
}
