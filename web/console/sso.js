// SSO applications tab: the tenant's OpenID Connect relying parties (docs/sso.md): list, register
// (the client secret is shown once, with Copy, and leaves the page when the user moves on), delete.
import { api } from '/app/assets/api.js';
import { t, tn } from '/app/assets/i18n.js';
import { secretValue, showSecretBox, clearSecrets } from '/app/assets/secret.js';
import { $, el, busy, fmtDate, formValues, isolate, showNote, showPage, wirePager } from '/app/assets/dom.js';
import { clip } from './cells.js';

const CHALLENGE = { blink: 'Blink', head_movement: 'Move the head', turn_left: 'Turn left', turn_right: 'Turn right', nod: 'Nod', smile: 'Smile' };
const METHOD = { client_secret_basic: 'Secret in the header', client_secret_post: 'Secret in the body', none: 'No secret (PKCE)' };

export function initSso(ctx) {
  const state = { page: 1, totalPages: 1 };

  async function load() {
    await busy(null, $('#sso-error'), async () => {
      const p = await api('/sso/clients/', { auth: ctx.auth(), query: { page: state.page, page_size: 20 } });
      $('#sso-table tbody').replaceChildren(
        ...p.results.map((c) =>
          el(
            'tr',
            { dataset: { clientId: c.client_id } },
            el('td', {}, clip(c.name)),
            el('td', { class: 'mono', text: c.client_id }),
            el('td', { class: 'mono' }, ...c.redirect_uris.map((u) => clip(u))),
            el('td', { text: t(METHOD[c.token_endpoint_auth_method] ?? c.token_endpoint_auth_method) }),
            el('td', { text: `${c.liveness_challenges.map((x) => t(CHALLENGE[x] ?? x)).join(', ')} · ${tn(c.max_attempts, '{n} attempt', '{n} attempts')}` }),
            el('td', { text: fmtDate(c.created_at) }),
            el('td', { class: 'actions' }, el('button', { type: 'button', class: 'small danger', 'aria-label': t('Delete the application {name}', { name: c.name }), onclick: (e) => void remove(c, e.currentTarget) }, t('Delete'))),
          ),
        ),
      );
      $('#sso-empty').hidden = p.results.length > 0;
      $('#sso-table').hidden = p.results.length === 0;
      showPage('sso', state, p, tn(p.count, '{n} application', '{n} applications'));
    });
  }

  async function remove(c, button) {
    if (!confirm(t('Delete the application {name}? Its sign-ins stop working at once.', { name: isolate(c.name) }))) return;
    showNote($('#sso-note'), '');
    await busy(button, $('#sso-error'), async () => {
      await api(`/sso/clients/${encodeURIComponent(c.client_id)}/`, { method: 'DELETE', auth: ctx.auth() });
      showNote($('#sso-note'), t('Deleted {name}.', { name: c.name }));
      await load();
    });
  }

  $('#sso-create').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const v = formValues(form);
    clearSecrets();
    showNote($('#sso-note'), '');
    void busy(form.querySelector('button[type=submit]'), form.querySelector('.alert'), async () => {
      const body = {
        name: v.name,
        redirect_uris: v.redirect_uris.split(/\s+/).filter(Boolean),
        token_endpoint_auth_method: v.token_endpoint_auth_method,
        liveness_challenges: new FormData(form).getAll('liveness_challenges'),
        max_attempts: Number(v.max_attempts || 3),
      };
      const c = await api('/sso/clients/', { auth: ctx.auth(), json: body });
      form.name.value = '';
      form.redirect_uris.value = '';
      showSecretBox(
        $('#sso-secret'),
        el('strong', { text: c.client_secret ? t('Registered. Give these to the application; the secret is shown only once:') : t('Registered. Give these to the application:') }),
        el(
          'dl',
          { class: 'kv stacked' },
          el('dt', { text: t('Issuer') }),
          el('dd', {}, secretValue(c.issuer, { field: 'issuer', label: t('Issuer') })),
          el('dt', { text: t('Client id') }),
          el('dd', {}, secretValue(c.client_id, { field: 'client_id', label: t('Client id') })),
          c.client_secret ? el('dt', { text: t('Client secret') }) : null,
          c.client_secret ? el('dd', {}, secretValue(c.client_secret, { field: 'client_secret', label: t('Client secret') })) : null,
        ),
      );
      await load();
    });
  });

  wirePager('sso', state, load);

  return {
    show: load,
    hide: () => {
      clearSecrets();
      showNote($('#sso-note'), '');
    },
  };
}
