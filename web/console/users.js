// Users panel: list/search/page, create, edit, (de)activate, delete; a user's enrollments and
// enrollment from an uploaded photo.
import { api } from '/app/assets/api.js';
import { t, tn } from '/app/assets/i18n.js';
import { $, el, bdi, busy, fmtDate, formValues, isolate, showError, showNote, showPage, wirePager } from '/app/assets/dom.js';
import { facePhoto } from '/app/assets/face-photo.js';
import { clip } from './cells.js';
import { initFallback } from './fallback.js';

const PAGE_SIZE = 20;

/** Parses the metadata textarea: empty → undefined; otherwise a JSON object or a VALIDATION_ERROR. */
function parseMetadata(text) {
  if (!text) return undefined;
  let v;
  try {
    v = JSON.parse(text);
  } catch {
    throw Object.assign(new Error('Metadata must be valid JSON.'), { code: 'METADATA_INVALID' });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw Object.assign(new Error('Metadata must be a JSON object.'), { code: 'METADATA_INVALID' });
  return v;
}

export function initUsers(ctx) {
  const state = { page: 1, totalPages: 1, filters: {}, selected: null };
  const tbody = $('#users-table tbody');
  const detail = $('#user-detail');
  const editForm = $('#user-edit');
  const fallback = initFallback(ctx);

  async function loadList() {
    await busy(null, $('#users-error'), async () => {
      const p = await api('/clients/users/', { auth: ctx.auth(), query: { page: state.page, page_size: PAGE_SIZE, ...state.filters } });
      tbody.replaceChildren(...p.results.map(row));
      if (p.results.length === 0) tbody.append(el('tr', {}, el('td', { colspan: 7, class: 'muted', text: t('No users.') })));
      showPage('users', state, p, tn(p.count, '{n} user', '{n} users'));
    });
  }

  function row(u) {
    const tr = el(
      'tr',
      { dataset: { externalId: u.external_id }, class: state.selected?.id === u.id ? 'selected' : undefined },
      el('td', { class: 'mono' }, clip(u.external_id)),
      el('td', {}, clip(u.name)),
      el('td', {}, u.email ? clip(u.email) : null),
      el('td', {}, el('span', { class: `badge ${u.is_active ? 'ok' : 'bad'}`, text: u.is_active ? t('active') : t('inactive') })),
      el('td', { class: 'enrollments-count', text: String(u.enrollments_count) }),
      el('td', { text: fmtDate(u.last_authentication) }),
      el(
        'td',
        { class: 'actions' },
        el('button', { type: 'button', class: 'small secondary', 'aria-label': t('Open {id}', { id: u.external_id }), onclick: () => void select(u) }, t('Open')),
        el('button', { type: 'button', class: 'small danger', 'aria-label': t('Delete {id}', { id: u.external_id }), onclick: () => void remove(u) }, t('Delete')),
      ),
    );
    return tr;
  }

  async function remove(u) {
    if (!confirm(t('Delete {id} ({name}) and all of their face data? This cannot be undone.', { id: isolate(u.external_id), name: isolate(u.name) }))) return;
    await busy(null, $('#users-error'), async () => {
      await api(`/clients/users/${encodeURIComponent(u.id)}/`, { method: 'DELETE', auth: ctx.auth() });
      if (state.selected?.id === u.id) {
        state.selected = null;
        detail.hidden = true;
      }
      await loadList();
    });
  }

  async function select(u) {
    state.selected = u;
    detail.hidden = false;
    $('#user-detail-title').replaceChildren(bdi(u.name), ' (', bdi(u.external_id), ')');
    editForm.external_id.value = u.external_id;
    editForm.name.value = u.name;
    editForm.email.value = u.email ?? '';
    editForm.metadata.value = u.metadata && Object.keys(u.metadata).length ? JSON.stringify(u.metadata, null, 2) : '';
    $('#user-toggle-active').textContent = u.is_active ? t('Deactivate') : t('Activate');
    $('#user-camera-link').href = `/app/camera/?mode=enrollment&user_id=${encodeURIComponent(u.external_id)}`;
    for (const box of detail.querySelectorAll('.alert, .note')) box.hidden = true;
    for (const tr of tbody.rows) tr.classList.toggle('selected', tr.dataset.externalId === u.external_id);
    await Promise.all([loadEnrollments(), fallback.load(u)]);
    detail.scrollIntoView({ block: 'nearest' });
  }

  async function refreshSelected() {
    if (!state.selected) return;
    const u = await api(`/clients/users/${encodeURIComponent(state.selected.id)}/`, { auth: ctx.auth() });
    await select(u);
    await loadList();
  }

  async function loadEnrollments() {
    const tb = $('#enrollments-table tbody');
    await busy(null, $('#enrollments-error'), async () => {
      const r = await api('/auth/enrollments/', { auth: ctx.auth(), query: { user_id: state.selected.id } });
      tb.replaceChildren(
        ...r.enrollments.map((e) =>
          el(
            'tr',
            {},
            el('td', { class: 'mono', text: e.enrollment_id.slice(0, 8) + '…', title: e.enrollment_id }),
            el('td', { text: t(e.source) }),
            el('td', { text: typeof e.quality_score === 'number' ? e.quality_score.toFixed(2) : '—' }),
            el('td', { text: (e.angles_captured ?? []).join(', ') || '—' }),
            el('td', { text: fmtDate(e.created_at) }),
            el('td', { class: 'actions' }, el('button', { type: 'button', class: 'small danger', 'aria-label': t('Delete enrollment {id}', { id: e.enrollment_id }), onclick: () => void removeEnrollment(e) }, t('Delete'))),
          ),
        ),
      );
      if (r.enrollments.length === 0) tb.append(el('tr', {}, el('td', { colspan: 6, class: 'muted', text: t('No enrollments yet.') })));
    });
  }

  async function removeEnrollment(e) {
    if (!confirm(t('Delete enrollment {id}? Its templates leave the search at once.', { id: e.enrollment_id }))) return;
    await busy(null, $('#enrollments-error'), async () => {
      await api(`/auth/enrollments/${encodeURIComponent(e.enrollment_id)}/`, { method: 'DELETE', auth: ctx.auth() });
      await refreshSelected();
    });
  }

  $('#user-search').addEventListener('submit', (e) => {
    e.preventDefault();
    state.filters = formValues(e.currentTarget);
    state.page = 1;
    void loadList();
  });
  wirePager('users', state, loadList);

  $('#user-create').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const v = formValues(form);
    const note = form.querySelector('.note');
    showNote(note, '');
    void busy(form.querySelector('button'), form.querySelector('.alert'), async () => {
      const body = { external_id: v.external_id, name: v.name, ...(v.email ? { email: v.email } : {}) };
      const metadata = parseMetadata(v.metadata);
      if (metadata) body.metadata = metadata;
      const u = await api('/clients/users/', { auth: ctx.auth(), json: body });
      form.reset();
      showNote(note, t('Created {id}.', { id: u.external_id }));
      state.page = 1;
      await loadList();
      await select(u);
    });
  });

  editForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = formValues(editForm);
    const note = editForm.querySelector('.note');
    showNote(note, '');
    void busy(editForm.querySelector('button[type=submit]'), editForm.querySelector('.alert'), async () => {
      const body = { external_id: v.external_id, name: v.name, email: v.email || null, metadata: parseMetadata(v.metadata) ?? {} };
      await api(`/clients/users/${encodeURIComponent(state.selected.id)}/`, { method: 'PUT', auth: ctx.auth(), json: body });
      await refreshSelected();
      showNote(editForm.querySelector('.note'), t('Saved.'));
    });
  });

  $('#user-toggle-active').addEventListener('click', (e) => {
    const u = state.selected;
    void busy(e.currentTarget, editForm.querySelector('.alert'), async () => {
      await api(`/clients/users/${encodeURIComponent(u.id)}/${u.is_active ? 'deactivate' : 'activate'}/`, { method: 'POST', auth: ctx.auth() });
      await refreshSelected();
      showNote(editForm.querySelector('.note'), u.is_active ? t('Deactivated: this user cannot authenticate.') : t('Activated.'));
    });
  });

  $('#direct-enroll').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const note = form.querySelector('.note');
    const photo = form.querySelector('.enroll-photo');
    showNote(note, '');
    const file = form.image.files[0];
    void busy(form.querySelector('button'), form.querySelector('.alert'), async () => {
      photo.replaceChildren();
      const fd = new FormData();
      fd.append('user_id', state.selected.external_id);
      fd.append('image', file);
      if (form.quality_threshold.value) fd.append('quality_threshold', form.quality_threshold.value);
      if (form.face_index.value !== '') fd.append('face_index', form.face_index.value);
      let r;
      try {
        r = await api('/auth/enrollment/direct/', { auth: ctx.auth(), form: fd });
      } catch (err) {
        // Several faces: show them numbered, and let the operator say which one is this user.
        if (err?.code === 'MULTIPLE_FACES' && err.details?.faces && file) {
          const faces = err.details.faces;
          photo.replaceChildren(facePhoto(file, faces, err.details, { chosen: -1, caption: t('Several faces: choose the number of this user\'s face, then enroll again.') }));
          form.face_index.replaceChildren(el('option', { value: '', text: t('Choose…') }), ...faces.map((f) => el('option', { value: String(f.index), text: t('Face {n}', { n: f.index }) })));
          form.querySelector('.face-choice').hidden = false;
        }
        throw err;
      }
      photo.replaceChildren(facePhoto(file, [{ box: r.face.box }], r.face, { caption: t('The face that was enrolled') }));
      form.image.value = '';
      form.face_index.replaceChildren(el('option', { value: '', text: t('Choose…') }));
      form.querySelector('.face-choice').hidden = true;
      await refreshSelected();
      showNote(form.querySelector('.note'), t('Enrolled: {id} (quality {q}).', { id: r.enrollment_id, q: r.quality_metrics.overall_quality.toFixed(2) }));
    });
  });

  // The detail card's error box is reused by several actions; clear it when another one starts.
  detail.addEventListener('submit', () => showError($('#enrollments-error'), null));

  return { show: loadList };
}
