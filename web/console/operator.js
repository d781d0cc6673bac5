// Operator mode (Authorization: Bearer WAJAH_ADMIN_TOKEN): clients and their API keys.
import { api } from '/app/assets/api.js';
import { t, tn } from '/app/assets/i18n.js';
import { secretValue, showSecretBox, clearSecrets } from '/app/assets/secret.js';
import { $, el, busy, fmtDate, formValues, showPage, tNodes, wirePager } from '/app/assets/dom.js';
import { clip } from './cells.js';
import { initClientEdit } from './operator-edit.js';

/** Shows freshly issued credentials once (with Copy); a rotation also says until when the old key works. */
function showCredentials(box, c) {
  clearSecrets();
  showSecretBox(
    box,
    el(
      'div',
      { class: 'note stack', dataset: c.replaces ? { replaces: c.replaces } : {} },
      el('strong', { text: t('New credentials — the secret is shown only once:') }),
      c.replaces ? el('p', { class: 'rotated', text: t('This key replaces {key}, which keeps working until {when}.', { key: c.replaces, when: fmtDate(c.old_key_expires_at) }) }) : null,
      el(
        'dl',
        { class: 'kv stacked' },
        el('dt', { text: t('Client id') }),
        el('dd', {}, secretValue(c.client_id, { label: t('Client id') })),
        el('dt', { text: t('API key') }),
        el('dd', {}, secretValue(c.api_key, { field: 'api_key', label: t('API key') })),
        el('dt', { text: t('Secret key') }),
        el('dd', {}, secretValue(c.secret_key, { field: 'secret_key', label: t('Secret key') })),
      ),
    ),
  );
  box.scrollIntoView?.({ block: 'nearest' });
}

export function initOperator(ctx) {
  const state = { page: 1, totalPages: 1, selected: null };
  const keysCard = $('#client-keys');
  const edit = initClientEdit(ctx, async (c) => {
    state.selected = c;
    $('#client-keys-title').replaceChildren(...tNodes('{name}: settings and keys', { name: c.name }));
    await loadClients();
  });

  async function loadClients() {
    await busy(null, $('#clients-error'), async () => {
      const p = await api('/admin/clients/', { auth: ctx.adminAuth(), query: { page: state.page, page_size: 20 } });
      const tb = $('#clients-table tbody');
      tb.replaceChildren(
        ...p.results.map((c) =>
          el(
            'tr',
            { dataset: { clientId: c.client_id } },
            el('td', {}, clip(c.name)),
            el('td', { class: 'mono', text: c.client_id }),
            el('td', { text: t(c.tier) }),
            el('td', { text: String(c.users_count ?? '—') }),
            el('td', { text: t('{users} users · {calls} calls/h', { users: c.limits.max_users ?? '∞', calls: c.limits.calls_per_hour ?? '∞' }) }),
            el('td', {}, el('span', { class: `badge ${c.is_active ? 'ok' : 'bad'}`, text: c.is_active ? t('active') : t('disabled') })),
            el('td', { text: fmtDate(c.created_at) }),
            el('td', { class: 'actions' }, el('button', { type: 'button', class: 'small secondary', 'aria-label': t('Edit {name} and its keys', { name: c.name }), onclick: () => void selectClient(c) }, t('Edit and keys'))),
          ),
        ),
      );
      if (p.results.length === 0) tb.append(el('tr', {}, el('td', { colspan: 8, class: 'muted', text: t('No clients yet.') })));
      showPage('clients', state, p, tn(p.count, '{n} client', '{n} clients'));
    });
  }

  async function selectClient(c) {
    state.selected = c;
    keysCard.hidden = false;
    clearSecrets();
    $('#client-keys-title').replaceChildren(...tNodes('{name}: settings and keys', { name: c.name }));
    edit.load(c);
    await loadKeys();
  }

  async function loadKeys() {
    await busy(null, $('#keys-error'), async () => {
      const c = await api(`/admin/clients/${encodeURIComponent(state.selected.client_id)}/`, { auth: ctx.adminAuth() });
      keysCard.querySelector('tbody').replaceChildren(
        ...(c.keys ?? []).map((k) =>
          el(
            'tr',
            {},
            el('td', { class: 'mono', text: k.key }),
            el('td', {}, k.name ? clip(k.name) : null),
            el('td', {}, el('span', { class: `badge ${k.status === 'active' ? 'ok' : 'bad'}`, text: t(k.status) })),
            el('td', { text: fmtDate(k.created_at) }),
            el('td', { text: fmtDate(k.last_used_at) }),
            el(
              'td',
              { class: 'actions' },
              k.status === 'active' ? el('button', { type: 'button', class: 'small secondary', 'aria-label': t('Rotate {key}', { key: k.key }), onclick: (e) => void rotate(k, e.currentTarget) }, t('Rotate')) : null,
              k.status === 'active' || k.status === 'expiring' ? el('button', { type: 'button', class: 'small danger', 'aria-label': t('Revoke {key}', { key: k.key }), onclick: (e) => void revoke(k, e.currentTarget) }, t('Revoke')) : null,
            ),
          ),
        ),
      );
    });
  }

  async function rotate(k, button) {
    if (!confirm(t('Issue a replacement for {key}? The old key keeps working for a grace period (24 hours by default), then stops.', { key: k.key }))) return;
    await busy(button, $('#keys-error'), async () => {
      const c = await api(`/admin/keys/${encodeURIComponent(k.key)}/rotate/`, { method: 'POST', auth: ctx.adminAuth(), json: {} });
      showCredentials(keysCard.querySelector('.credentials'), c);
      await loadKeys();
    });
  }

  async function revoke(k, button) {
    if (!confirm(t('Revoke {key}? Requests with it fail at once.', { key: k.key }))) return;
    await busy(button, $('#keys-error'), async () => {
      await api(`/admin/keys/${encodeURIComponent(k.key)}/revoke/`, { method: 'POST', auth: ctx.adminAuth() });
      await loadKeys();
    });
  }

  $('#client-create').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const v = formValues(form);
    void busy(form.querySelector('button'), form.querySelector('.alert'), async () => {
      const body = { name: v.name, tier: v.tier };
      if (v.max_users) body.max_users = Number(v.max_users);
      if (v.calls_per_hour) body.calls_per_hour = Number(v.calls_per_hour);
      const c = await api('/admin/clients/', { auth: ctx.adminAuth(), json: body });
      form.reset();
      showCredentials(form.querySelector('.credentials'), c);
      await loadClients();
    });
  });

  $('#key-create').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const v = formValues(form);
    void busy(form.querySelector('button'), $('#keys-error'), async () => {
      const c = await api(`/admin/clients/${encodeURIComponent(state.selected.client_id)}/keys/`, { auth: ctx.adminAuth(), json: v.name ? { name: v.name } : {} });
      form.reset();
      showCredentials(keysCard.querySelector('.credentials'), c);
      await loadKeys();
    });
  });

  wirePager('clients', state, loadClients);

  return { show: loadClients };
}
