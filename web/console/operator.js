// Operator mode (Authorization: Bearer WAJAH_ADMIN_TOKEN): clients and their API keys.
import { api } from '/app/assets/api.js';
import { $, el, busy, fmtDate, formValues } from '/app/assets/dom.js';

/** Shows freshly issued credentials once, with a button to use them in this console. */
function showCredentials(box, c) {
  box.replaceChildren(
    el(
      'div',
      { class: 'note stack' },
      el('strong', { text: 'New credentials — the secret is shown only once:' }),
      el('dl', { class: 'kv' }, el('dt', { text: 'Client id' }), el('dd', { class: 'mono secret', text: c.client_id }), el('dt', { text: 'API key' }), el('dd', { class: 'mono secret', 'data-field': 'api_key', text: c.api_key }), el('dt', { text: 'Secret key' }), el('dd', { class: 'mono secret', 'data-field': 'secret_key', text: c.secret_key })),
    ),
  );
}

export function initOperator(ctx) {
  const state = { page: 1, totalPages: 1, selected: null };
  const keysCard = $('#client-keys');

  async function loadClients() {
    await busy(null, $('#clients-error'), async () => {
      const p = await api('/admin/clients/', { auth: ctx.adminAuth(), query: { page: state.page, page_size: 20 } });
      state.totalPages = Math.max(1, p.total_pages);
      const tb = $('#clients-table tbody');
      tb.replaceChildren(
        ...p.results.map((c) =>
          el(
            'tr',
            { dataset: { clientId: c.client_id } },
            el('td', { text: c.name }),
            el('td', { class: 'mono', text: c.client_id }),
            el('td', { text: c.tier }),
            el('td', { text: String(c.users_count ?? '—') }),
            el('td', { text: `${c.limits.max_users ?? '∞'} users · ${c.limits.calls_per_hour ?? '∞'} calls/h` }),
            el('td', {}, el('span', { class: `badge ${c.is_active ? 'ok' : 'bad'}`, text: c.is_active ? 'active' : 'disabled' })),
            el('td', { text: fmtDate(c.created_at) }),
            el('td', { class: 'actions' }, el('button', { type: 'button', class: 'small secondary', 'aria-label': `Keys of ${c.name}`, onclick: () => void selectClient(c) }, 'Keys')),
          ),
        ),
      );
      if (p.results.length === 0) tb.append(el('tr', {}, el('td', { colspan: 8, class: 'muted', text: 'No clients yet.' })));
      $('#clients-page').textContent = `Page ${p.page} of ${state.totalPages} · ${p.count} client${p.count === 1 ? '' : 's'}`;
      $('#clients-prev').disabled = state.page <= 1;
      $('#clients-next').disabled = state.page >= state.totalPages;
    });
  }

  async function selectClient(c) {
    state.selected = c;
    keysCard.hidden = false;
    keysCard.querySelector('.credentials').replaceChildren();
    $('#client-keys-title').textContent = `Keys of ${c.name}`;
    await loadKeys();
  }

  async function loadKeys() {
    await busy(null, keysCard.querySelector('.alert'), async () => {
      const c = await api(`/admin/clients/${encodeURIComponent(state.selected.client_id)}/`, { auth: ctx.adminAuth() });
      keysCard.querySelector('tbody').replaceChildren(
        ...(c.keys ?? []).map((k) =>
          el(
            'tr',
            {},
            el('td', { class: 'mono', text: k.key }),
            el('td', { text: k.name ?? '' }),
            el('td', {}, el('span', { class: `badge ${k.status === 'active' ? 'ok' : 'bad'}`, text: k.status })),
            el('td', { text: fmtDate(k.created_at) }),
            el('td', { text: fmtDate(k.last_used_at) }),
            el('td', { class: 'actions' }, k.status === 'active' || k.status === 'expiring' ? el('button', { type: 'button', class: 'small danger', 'aria-label': `Revoke ${k.key}`, onclick: (e) => void revoke(k, e.currentTarget) }, 'Revoke') : null),
          ),
        ),
      );
    });
  }

  async function revoke(k, button) {
    if (!confirm(`Revoke ${k.key}? Requests with it fail at once.`)) return;
    await busy(button, keysCard.querySelector('.alert'), async () => {
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
    void busy(form.querySelector('button'), keysCard.querySelector('.alert'), async () => {
      const c = await api(`/admin/clients/${encodeURIComponent(state.selected.client_id)}/keys/`, { auth: ctx.adminAuth(), json: v.name ? { name: v.name } : {} });
      form.reset();
      showCredentials(keysCard.querySelector('.credentials'), c);
      await loadKeys();
    });
  });

  $('#clients-prev').addEventListener('click', () => {
    state.page = Math.max(1, state.page - 1);
    void loadClients();
  });
  $('#clients-next').addEventListener('click', () => {
    state.page = Math.min(state.totalPages, state.page + 1);
    void loadClients();
  });

  return { show: loadClients };
}
