// Manual-review tab (docs/fallbacks.md): the queue, one review with its photos (fetched with the
// Authorization header as blobs: an <img src> cannot send it), approve or reject. The photos' object
// URLs are released when the review is closed or the user moves on (each view is audited by the server).
import { api, API_BASE } from '/app/assets/api.js';
import { t, tn } from '/app/assets/i18n.js';
import { explain } from '/app/assets/messages.js';
import { $, el, bdi, busy, fmtDate, formValues, isolate, pct, showNote, showPage, tNodes, wirePager } from '/app/assets/dom.js';
import { clip } from './cells.js';

const STATUS = { pending: 'Waiting for a decision', approved: 'Approved', rejected: 'Rejected' };

export function initReviews(ctx) {
  const state = { page: 1, totalPages: 1, filters: { status: 'pending' }, selected: null, urls: [] };
  const detail = $('#review-detail');

  function releasePhotos() {
    for (const u of state.urls) URL.revokeObjectURL(u);
    state.urls = [];
    $('#review-photos').replaceChildren();
  }

  async function loadList() {
    await busy(null, $('#reviews-error'), async () => {
      const p = await api('/reviews/', { auth: ctx.auth(), query: { page: state.page, page_size: 20, ...state.filters } });
      $('#reviews-table tbody').replaceChildren(
        ...p.results.map((r) =>
          el(
            'tr',
            { dataset: { reviewId: r.id, userId: r.user_id }, class: state.selected?.id === r.id ? 'selected' : '' },
            el('td', { text: fmtDate(r.created_at) }),
            el('td', {}, clip([el('strong', {}, bdi(r.user_name)), ' ', el('span', { class: 'mono muted' }, bdi(r.user_id))], `${isolate(r.user_name)} ${isolate(r.user_id)}`)),
            el('td', {}, clip(r.reason)),
            el('td', { text: String(r.photo_count) }),
            el('td', {}, el('span', { class: `badge ${r.status === 'approved' ? 'ok' : r.status === 'rejected' ? 'bad' : ''}`, text: t(STATUS[r.status]) })),
            el('td', { class: 'actions' }, el('button', { type: 'button', class: 'small secondary', 'aria-label': t('Open the review of {name}', { name: r.user_name }), onclick: () => void open(r.id) }, t('Open'))),
          ),
        ),
      );
      const empty = $('#reviews-empty');
      empty.hidden = p.results.length > 0;
      empty.textContent = state.filters.status === 'pending' ? t('No reviews are waiting for a decision.') : t('No reviews match these filters.');
      $('#reviews-table').hidden = p.results.length === 0;
      showPage('reviews', state, p, tn(p.count, '{n} review', '{n} reviews'));
    });
  }

  /** A review photo as a blob URL (the endpoint needs the Authorization header). */
  async function photoUrl(reviewId, photoId) {
    const res = await fetch(`${API_BASE}/reviews/${encodeURIComponent(reviewId)}/photos/${encodeURIComponent(photoId)}/`, { headers: { authorization: ctx.auth() } });
    if (!res.ok) return null;
    const url = URL.createObjectURL(await res.blob());
    state.urls.push(url);
    return url;
  }

  function photoCaption(ph) {
    const face = ph.face_detected === true ? t('face found') : ph.face_detected === false ? t('no face found') : t('not analysed');
    return `${t('Photo {n}', { n: ph.position + 1 })} · ${face}${typeof ph.quality_score === 'number' ? ` · ${t('quality {q}', { q: pct(ph.quality_score) })}` : ''}`;
  }

  function showReview(r) {
    state.selected = r;
    detail.hidden = false;
    $('#review-title').replaceChildren(...tNodes('Review of {name}', { name: el('span', {}, bdi(r.user_name), ' (', bdi(r.user_id), ')') }));
    const info = [
      [t('Status'), t(STATUS[r.status])],
      [t('Reason'), r.reason],
      [t('Notes'), r.notes ?? '—'],
      [t('Submitted'), fmtDate(r.created_at)],
    ];
    if (r.status !== 'pending') {
      info.push([t('Decided'), fmtDate(r.decided_at)]);
      if (r.outcome) info.push([t('Outcome'), r.outcome === 'enrolled' ? t('Enrolled') : t('Manually verified (no enrollment)')]);
      if (r.rejection_reason) info.push([t('Reason for rejecting'), r.rejection_reason]);
      if (r.decision_notes) info.push([t('Decision notes'), r.decision_notes]);
    }
    $('#review-info').replaceChildren(...info.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));
    $('#review-decide').hidden = r.status !== 'pending';
    for (const f of detail.querySelectorAll('form')) f.reset();
  }

  async function open(id) {
    releasePhotos();
    showNote($('#review-result'), '');
    await busy(null, $('#review-error'), async () => {
      const r = await api(`/reviews/${encodeURIComponent(id)}/`, { auth: ctx.auth() });
      showReview(r);
      for (const tr of $('#reviews-table tbody').rows) tr.classList.toggle('selected', tr.dataset.reviewId === id);
      if (r.photos_deleted || r.photos.length === 0) {
        $('#review-photos').replaceChildren(el('p', { class: 'muted', text: t('The photos were deleted with the decision.') }));
      } else {
        const figures = await Promise.all(
          r.photos.map(async (ph) => {
            const url = await photoUrl(r.id, ph.id);
            return el(
              'figure',
              { class: 'face-photo review-photo', dataset: { photoId: ph.id } },
              url ? el('img', { src: url, alt: photoCaption(ph) }) : el('p', { class: 'muted', text: t('This photo could not be loaded.') }),
              el('figcaption', { text: photoCaption(ph) }),
            );
          }),
        );
        if (state.selected?.id === r.id) $('#review-photos').replaceChildren(...figures);
      }
      detail.scrollIntoView({ block: 'nearest' });
    });
  }

  /** What an approval did, in words: enrolled from which photos, or recorded as manually verified. */
  function approvedText(r) {
    const used = r.photos_analyzed.filter((x) => x.used).length;
    const main =
      r.outcome === 'enrolled'
        ? t('Approved: enrolled from {used} of {all} photos.', { used, all: r.photos_analyzed.length })
        : t('Approved: no photo had a usable face, so the user is recorded as manually verified. Offer them a PIN or password.');
    const unused = r.photos_analyzed
      .map((x, i) => (x.used ? null : t('Photo {n} not used: {why}', { n: i + 1, why: explain(x.reason ?? 'FAILED').text })))
      .filter(Boolean);
    return [main, ...unused].join(' ');
  }

  $('#review-approve').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const { notes } = formValues(form);
    void busy(form.querySelector('button'), $('#review-error'), async () => {
      const r = await api(`/reviews/${encodeURIComponent(state.selected.id)}/approve/`, { auth: ctx.auth(), json: notes ? { notes } : {} });
      releasePhotos();
      showReview(r);
      $('#review-photos').replaceChildren(el('p', { class: 'muted', text: t('The photos were deleted with the decision.') }));
      showNote($('#review-result'), approvedText(r));
      $('#review-result').dataset.outcome = r.outcome;
      await loadList();
    });
  });

  $('#review-reject').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const { reason } = formValues(form);
    void busy(form.querySelector('button'), $('#review-error'), async () => {
      const r = await api(`/reviews/${encodeURIComponent(state.selected.id)}/reject/`, { auth: ctx.auth(), json: { reason } });
      releasePhotos();
      showReview(r);
      $('#review-photos').replaceChildren(el('p', { class: 'muted', text: t('The photos were deleted with the decision.') }));
      showNote($('#review-result'), t('Rejected. The photos were deleted.'));
      $('#review-result').dataset.outcome = 'rejected';
      await loadList();
    });
  });

  $('#reviews-filter').addEventListener('submit', (e) => {
    e.preventDefault();
    state.filters = formValues(e.currentTarget);
    state.page = 1;
    void loadList();
  });
  wirePager('reviews', state, loadList);

  return {
    show: loadList,
    hide: () => {
      releasePhotos();
      state.selected = null;
      detail.hidden = true;
    },
  };
}
